// The container's terminal: a pty from the container's own devpts, whose master goes to the
// caller over --console-socket (SCM_RIGHTS) and whose slave becomes the controlling terminal.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "init/fd_passing.h"
#include "init/init_internal.h"
#include "init/sys.h"

namespace berth::runtime::init {


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
  static const char kName[] = "/dev/ptmx";
  if (!send_fd(plan.console_socket, master.get(), kName, sizeof kName - 1)) fail(plan, "send pty master to console socket", errno);
  master.reset();
  if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0) fail(plan, "set controlling terminal", errno);
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup3(slave.get(), fd, 0) < 0) fail(plan, "dup pty slave", errno);
  }
}

}  // namespace berth::runtime::init
