#include "init/emergency.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "init/console.h"

namespace berth::agent::init {

void emergency_shell(const std::string& what) {
  logger()->error("{}", what);
  logger()->error("the VM cannot serve containers; starting a shell on the console (/bin/busybox sh)");
  logger()->flush();
  // The shell gets a clean slate: PID 1 blocks the signals its loop reads.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  ::setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  ::setenv("HOME", "/root", 1);
  char sh[] = "/bin/busybox", arg0[] = "sh";
  char* argv[] = {arg0, nullptr};
  ::execv(sh, argv);
  logger()->error("cannot start {}: {}; halting here", sh, std::strerror(errno));
  // Never return (PID 1 exiting panics the kernel) and never spin.
  for (;;) ::pause();
}

}  // namespace berth::agent::init
