// A child process of the vmhost (QEMU, virtiofsd) and how it ended.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace berth::process {

struct ExitInfo {
  bool signaled = false;
  int code = 0;  // exit status, or the signal number when signaled

  bool clean() const { return !signaled && code == 0; }
  // "exit status 1", "killed by signal 9".
  std::string describe() const;
  static ExitInfo from_wait_status(int status);
};

class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  // Reaps it if it has exited (waitpid WNOHANG); the result stays available.
  std::optional<ExitInfo> poll();
  // Polls until it exits or the timeout passes.
  std::optional<ExitInfo> wait_for(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // SIGTERM, then SIGKILL after `grace`; always reaps.
  ExitInfo terminate(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
};

// Absolute path of an executable found in $PATH, or "".
std::string find_program(const std::string& name);

}  // namespace berth::process
