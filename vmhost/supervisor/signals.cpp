#include "supervisor/signals.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace berth::supervisor {

namespace {

int g_write_fd = -1;

extern "C" void on_signal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  (void)!::write(g_write_fd, &b, 1);
  errno = saved;
}

}  // namespace

Result<SignalPipe> SignalPipe::install() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return sys_error("pipe");
  UniqueFd read(fds[0]);
  // The write end lives as long as the process: the handler may run at any time.
  g_write_fd = fds[1];
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGCHLD}) {
    if (::sigaction(sig, &sa, nullptr) != 0) return sys_error("sigaction");
  }
  ::signal(SIGPIPE, SIG_IGN);
  return SignalPipe(std::move(read));
}

std::vector<int> SignalPipe::drain() {
  std::vector<int> out;
  unsigned char buf[64];
  for (;;) {
    ssize_t n = ::read(read_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) out.push_back(buf[i]);
  }
  return out;
}

}  // namespace berth::supervisor
