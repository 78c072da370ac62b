// berth-shim: one per container. The process the agent starts is only a launcher: it forks the
// shim off (new session, double fork, so the shim is nobody's child but the reaper's and
// outlives the agent), waits on a pipe until the container is created and started, prints the
// shim's answer and exits 0 — or prints the runtime's error and exits 1.
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "berth/shim/protocol.h"
#include "options.h"
#include "shim.h"
#include "unix_socket.h"

namespace {

using namespace berth;
using namespace berth::shim;

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void report_error(int fd, const std::string& message) {
  Json j = Json::object();
  j["ok"] = false;
  j["error"] = message;
  write_all(fd, j.dump() + "\n");
}

// The shim chdirs to / once detached, so every path it keeps must be absolute.
Result<std::string> absolute(const std::string& path, bool must_exist) {
  if (must_exist) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return sys_error(path);
    return std::string(buf);
  }
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (!::getcwd(cwd, sizeof cwd)) return sys_error("getcwd");
  return std::string(cwd) + "/" + path;
}

Status resolve_paths(Options& o) {
  BERTH_TRY(fs::mkdir_p(o.state_dir, 0700));
  o.state_dir = BERTH_TRY(absolute(o.state_dir, true));
  o.bundle = BERTH_TRY(absolute(o.bundle, true));
  o.runtime = BERTH_TRY(absolute(o.runtime, true));
  o.runtime_root = BERTH_TRY(absolute(o.runtime_root, false));
  if (!o.log_path.empty()) o.log_path = BERTH_TRY(absolute(o.log_path, false));
  // Unix socket paths are limited to 107 bytes.
  if (o.state_dir.size() + 1 + std::string_view(kConsoleSocketFile).size() > 107)
    return make_error(Errc::invalid_argument, "--state-dir path is too long for a unix socket inside it: " + o.state_dir);
  // A second shim here would take over the first one's socket and files.
  if (socket_is_live(o.state_dir + "/" + std::string(kSocketFile)))
    return make_error(Errc::already_exists, "a shim is already serving " + o.state_dir);
  return ok();
}

// Runs in the detached shim: stdio leaves the launcher's terminal or pipes; stderr (where
// errlog writes) goes to shim.log.
void detach_stdio(const Options& o) {
  std::string log = o.state_dir + "/" + std::string(kShimLogFile);
  UniqueFd null_fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd log_fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!null_fd) return;
  ::dup2(null_fd.get(), 0);
  ::dup2(null_fd.get(), 1);
  ::dup2(log_fd ? log_fd.get() : null_fd.get(), 2);
  // If the agent started us with 0-2 closed, open() returned one of them: it is stdio now.
  if (null_fd.get() <= 2) null_fd.release();
  if (log_fd.get() <= 2) log_fd.release();
}

// The launcher: waits for the shim's report and passes it on.
int wait_for_shim(pid_t middle, UniqueFd ready) {
  std::string report;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(ready.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    report.append(buf, static_cast<size_t>(n));
  }
  ::waitpid(middle, nullptr, 0);
  auto answer = parse_response(report);
  if (answer) {
    std::fputs(report.c_str(), stdout);
    return 0;
  }
  std::string message = report.empty() ? "berth-shim exited before the container started (see shim.log)" : answer.error().message;
  std::fprintf(stderr, "berth-shim: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Descriptors the agent leaked to us must not reach the runtime and the container.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_options(args);
  if (!parsed) {
    bool help = !args.empty() && (args[0] == "--help" || args[0] == "-h");
    std::fprintf(help ? stdout : stderr, "%s%s", help ? "" : "berth-shim: ", parsed.error().message.c_str());
    if (!help) std::fputc('\n', stderr);
    return help ? 0 : 2;
  }
  Options o = std::move(*parsed);
  if (auto st = resolve_paths(o); !st) {
    std::fprintf(stderr, "berth-shim: %s\n", st.error().what().c_str());
    return 1;
  }

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) {
    std::perror("berth-shim: pipe");
    return 1;
  }
  UniqueFd ready_r(fds[0]), ready_w(fds[1]);
  std::fflush(nullptr);
  pid_t middle = ::fork();
  if (middle < 0) {
    std::perror("berth-shim: fork");
    return 1;
  }
  if (middle > 0) {
    ready_w.reset();
    return wait_for_shim(middle, std::move(ready_r));
  }

  // The middle process: a new session without a controlling terminal, then fork again and
  // leave, so the shim is orphaned to the reaper (the agent as PID 1 or subreaper) and can
  // never reacquire a terminal.
  ready_r.reset();
  if (::setsid() < 0) {
    report_error(ready_w.get(), std::string("setsid: ") + std::strerror(errno));
    ::_exit(1);
  }
  pid_t shim_pid = ::fork();
  if (shim_pid < 0) {
    report_error(ready_w.get(), std::string("fork: ") + std::strerror(errno));
    ::_exit(1);
  }
  if (shim_pid > 0) ::_exit(0);

  detach_stdio(o);
  if (::chdir("/") < 0) {
    report_error(ready_w.get(), std::string("chdir /: ") + std::strerror(errno));
    return 1;
  }
  ::umask(022);
  Shim shim(o);
  auto pid = shim.launch();
  if (!pid) {
    report_error(ready_w.get(), pid.error().what());
    return 1;
  }
  Json ready = Json::object();
  ready["ok"] = true;
  ready["pid"] = *pid;
  ready["shim_pid"] = ::getpid();
  write_all(ready_w.get(), ready.dump() + "\n");
  ready_w.reset();
  return shim.serve();
}
