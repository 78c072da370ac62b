// backends/platform.h on Linux.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "backends/platform.h"
#include "berth/common/fs.h"
#include "berth/common/unique_fd.h"

namespace berth::platform {

std::string executable_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<size_t>(n));
}

namespace {

// In the child between fork and exec: async-signal-safe calls only, no allocation.
[[noreturn]] void child_fail(int report_fd) {
  int err = errno;
  (void)!::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

}  // namespace

Result<pid_t> spawn(const SpawnOptions& o) {
  if (o.argv.empty()) return make_error(Errc::invalid_argument, "spawn: empty argv");
  std::vector<char*> argv;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  UniqueFd devnull = BERTH_TRY(fs::open("/dev/null", O_RDWR));
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return sys_error("pipe");
  UniqueFd report_read(pipefd[0]);
  UniqueFd report_write(pipefd[1]);

  // Every fd the child gets, as {source, target}; sources are first moved above all
  // targets so that dup2 into 0..N never clobbers a source still to be copied.
  std::vector<std::pair<int, int>> fds = {{o.stdin_fd >= 0 ? o.stdin_fd : devnull.get(), 0},
                                          {o.stdout_fd >= 0 ? o.stdout_fd : devnull.get(), 1},
                                          {o.stderr_fd >= 0 ? o.stderr_fd : (o.stdout_fd >= 0 ? o.stdout_fd : devnull.get()), 2}};
  fds.insert(fds.end(), o.extra_fds.begin(), o.extra_fds.end());
  int high = 3;
  for (const auto& f : fds) high = std::max(high, f.second + 1);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    int report = report_write.get();
    if (o.new_session) ::setsid();
    if (o.die_with_parent) {
      if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(report);
      // The parent may have died before prctl: then nobody would send the signal.
      if (::getppid() != parent) ::_exit(1);
    }
    // Dispositions set to SIG_IGN (SIGPIPE in the vmhost) survive exec; a blocked mask too.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    int moved[64];
    size_t count = fds.size() < 64 ? fds.size() : 64;
    for (size_t i = 0; i < count; ++i) {
      moved[i] = ::fcntl(fds[i].first, F_DUPFD_CLOEXEC, high);
      if (moved[i] < 0) child_fail(report);
    }
    if (report < high) {
      int r = ::fcntl(report, F_DUPFD_CLOEXEC, high + 64);
      if (r < 0) child_fail(report);
      report = r;
    }
    for (size_t i = 0; i < count; ++i) {
      // dup2 clears close-on-exec on the target: exactly these fds survive exec.
      if (::dup2(moved[i], fds[i].second) < 0) child_fail(report);
    }
    ::execv(argv[0], argv.data());
    child_fail(report);
  }
  report_write.reset();
  int err = 0;
  ssize_t n;
  do {
    n = ::read(report_read.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err)) {
    ::waitpid(pid, nullptr, 0);
    return sys_error("execute " + o.argv[0], err);
  }
  return pid;
}

bool process_cmdline_contains(pid_t pid, std::string_view needle) {
  auto cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline) return false;
  return cmdline->find(needle) != std::string::npos;
}

}  // namespace berth::platform
