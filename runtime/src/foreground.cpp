// `run` and `exec` without --detach: the runtime stays as the container process's parent,
// forwards signals to it, relays its terminal, and exits with its status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init/sys.h"
#include "runtime.h"

namespace berth::runtime {

namespace {

struct RawTerminal {
  bool active = false;
  struct termios saved {};
  RawTerminal() {
    if (!::isatty(0) || ::tcgetattr(0, &saved) < 0) return;
    struct termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active) ::tcsetattr(0, TCSANOW, &saved);
  }
};

void copy_winsize(int from, int to) {
  struct winsize ws {};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

bool pump(int from, int to) {
  char buf[16384];
  ssize_t n = ::read(from, buf, sizeof buf);
  if (n <= 0) return false;
  return sys::write_all(to, buf, static_cast<size_t>(n));
}

}  // namespace

int wait_foreground(pid_t pid, UniqueFd console) {
  sigset_t mask;
  sigfillset(&mask);
  for (int s : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGKILL, SIGSTOP}) sigdelset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sfd(::signalfd(-1, &mask, SFD_CLOEXEC));
  std::optional<RawTerminal> raw;
  if (console) {
    raw.emplace();
    copy_winsize(0, console.get());
  }
  bool stdin_open = console.valid();
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    struct pollfd fds[3] = {{sfd.get(), POLLIN, 0}, {console.get(), POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
    int n = ::poll(fds, console ? 3 : 1, -1);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si {};
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) {
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGCHLD) continue;
        if (sig == SIGWINCH && console) {
          copy_winsize(0, console.get());
          continue;
        }
        ::kill(pid, sig);
      }
    }
    if (console) {
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        if (!pump(console.get(), 1)) console.reset();
      }
      if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) {
        if (!pump(0, console.get())) stdin_open = false;
      }
    }
  }
  if (console) {
    // Drain what the process wrote just before exiting.
    ::fcntl(console.get(), F_SETFL, O_NONBLOCK);
    while (pump(console.get(), 1)) {
    }
  }
  ::sigprocmask(SIG_UNBLOCK, &mask, nullptr);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Result<int> Runtime::run(const CreateOptions& options, bool detach) {
  auto created = BERTH_TRY(create_impl(options, /*internal_console=*/!detach));
  if (auto st = start(options.id); !st) {
    remove(options.id, true);
    return tl::unexpected(st.error());
  }
  if (detach) return 0;
  int code = wait_foreground(created.pid, std::move(created.console_master));
  if (auto r = remove(options.id, true); !r) return tl::unexpected(r.error());
  return code;
}

}  // namespace berth::runtime
