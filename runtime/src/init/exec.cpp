// In-container hooks and the final execve: fd hygiene, cwd check, PATH lookup.
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "init/init_internal.h"
#include "init/sys.h"

namespace berth::runtime::init {

void run_hooks(const InitPlan& plan, const std::vector<HookPlan>& hooks, const char* stage) noexcept {
  for (const auto& hook : hooks) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) < 0) fail(plan, "hook pipe", errno, stage);
    UniqueFd read_end(in[0]), write_end(in[1]);
    pid_t pid = ::fork();
    if (pid < 0) fail(plan, "fork hook", errno, stage);
    if (pid == 0) {
      ::dup2(read_end.get(), 0);
      ::execve(hook.path.c_str(), hook.argv.get(), hook.envp.get());
      ::_exit(127);
    }
    read_end.reset();
    sys::write_all(write_end.get(), plan.state_buffer.data(), plan.state_length);
    write_end.reset();
    UniqueFd pidfd(sys::pidfd_open(pid));
    if (hook.timeout_seconds > 0 && pidfd) {
      struct pollfd p {pidfd.get(), POLLIN, 0};
      int rc;
      do {
        rc = ::poll(&p, 1, hook.timeout_seconds * 1000);
      } while (rc < 0 && errno == EINTR);
      if (rc == 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        fail(plan, "hook timed out:", ETIMEDOUT, hook.path.c_str());
      }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail(plan, "hook failed:", 0, hook.path.c_str());
  }
}

namespace {

bool is_executable_file(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISREG(st.st_mode) && ::access(path, X_OK) == 0;
}

// Finds argv[0] on the container's PATH the way execvp would, but with the container's env.
const char* find_program(const InitPlan& plan, char* buf, size_t size) {
  const char* name = plan.argv.pointers[0];
  if (std::strchr(name, '/')) return is_executable_file(name) ? name : nullptr;
  const char* p = plan.path_env.c_str();
  while (true) {
    const char* end = std::strchr(p, ':');
    size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
    size_t len = 0;
    if (n + std::strlen(name) + 2 < size) {
      std::memcpy(buf, p, n);
      len = n;
      if (len == 0) buf[len++] = '.';
      buf[len++] = '/';
      buf[len] = '\0';
      sys::append(buf, size, &len, name);
      if (is_executable_file(buf)) return buf;
    }
    if (!end) break;
    p = end + 1;
  }
  return nullptr;
}

}  // namespace

void prepare_exec(InitPlan& plan) noexcept {
  // Nothing of the runtime may reach the container: every fd above the preserved ones is
  // closed at exec (the sync socket included, which tells the runtime exec happened).
  unsigned first = 3u + static_cast<unsigned>(plan.preserve_fds);
  if (::syscall(SYS_close_range, first, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
    for (int fd = static_cast<int>(first); fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (!plan.cwd.empty() && ::chdir(plan.cwd.c_str()) < 0) fail(plan, "chdir to cwd", errno, plan.cwd.c_str());
  // A cwd reached through a leaked host fd shows up as "(unreachable)…": refuse to run there.
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr || cwd[0] != '/') fail(plan, "cwd is outside the container root", EPERM);
  const char* program = find_program(plan, plan.program, sizeof plan.program);
  if (!program) fail(plan, "executable file not found (or not executable):", ENOENT, plan.argv.pointers[0]);
  if (program != plan.program) {
    size_t len = 0;
    plan.program[0] = '\0';
    if (!sys::append(plan.program, sizeof plan.program, &len, program)) fail(plan, "program path too long", ENAMETOOLONG);
  }
}

[[noreturn]] void exec_process(InitPlan& plan) noexcept {
  // Restore default signal dispositions the runtime may have changed.
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // A detached exec outlives the runtime that started it.
  ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  ::execve(plan.program, plan.argv.get(), plan.envp.get());
  fail(plan, "exec", errno, plan.program);
}

}  // namespace berth::runtime::init
