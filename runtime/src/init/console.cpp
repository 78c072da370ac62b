// The container's terminal: a pty from the container's own devpts, whose master goes to the
// caller over --console-socket (SCM_RIGHTS) and whose slave becomes the controlling terminal.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "init/init_internal.h"
#include "init/sys.h"

namespace berth::runtime::init {

namespace {

bool send_fd(int sock, int fd, const char* name) {
  struct msghdr msg {};
  struct iovec iov {};
  iov.iov_base = const_cast<char*>(name);
  iov.iov_len = std::strlen(name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n >= 0;
}

}  // namespace

void setup_console(InitPlan& plan) noexcept {
  if (!plan.terminal) return;
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) fail(plan, "open /dev/ptmx", errno);
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) fail(plan, "unlock pty", errno);
  // TIOCGPTPEER opens the slave through the master, so a container-controlled /dev/pts path
  // cannot hand us a different terminal.
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) fail(plan, "open pty slave", errno);
  if (plan.console_rows || plan.console_cols) {
    struct winsize ws {};
    ws.ws_row = plan.console_rows;
    ws.ws_col = plan.console_cols;
    ::ioctl(slave.get(), TIOCSWINSZ, &ws);
  }
  if (!send_fd(plan.console_socket, master.get(), "/dev/ptmx")) fail(plan, "send pty master to console socket", errno);
  master.reset();
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) fail(plan, "set controlling terminal", errno);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup3(slave.get(), fd, 0) < 0) fail(plan, "dup pty slave", errno);
  }
}

}  // namespace berth::runtime::init
