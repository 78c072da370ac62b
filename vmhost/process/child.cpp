#include "process/child.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace berth::process {

std::string ExitInfo::describe() const {
  if (signaled) return "killed by signal " + std::to_string(code);
  return "exit status " + std::to_string(code);
}

ExitInfo ExitInfo::from_wait_status(int status) {
  ExitInfo e;
  if (WIFSIGNALED(status)) {
    e.signaled = true;
    e.code = WTERMSIG(status);
  } else {
    e.code = WEXITSTATUS(status);
  }
  return e;
}

std::optional<ExitInfo> Child::poll() {
  if (exit_ || pid_ <= 0) return exit_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_ = ExitInfo::from_wait_status(status);
  } else if (r < 0 && errno == ECHILD) {
    // Not our child any more (reaped elsewhere): report it as gone.
    exit_ = ExitInfo{true, 0};
  }
  return exit_;
}

std::optional<ExitInfo> Child::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto e = poll()) return e;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !exit_) ::kill(pid_, sig);
}

ExitInfo Child::terminate(std::chrono::milliseconds grace) {
  if (auto e = poll()) return *e;
  signal(SIGTERM);
  if (auto e = wait_for(grace)) return *e;
  signal(SIGKILL);
  for (;;) {
    if (auto e = wait_for(std::chrono::seconds(1))) return *e;
  }
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace berth::process
