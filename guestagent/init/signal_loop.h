// PID 1's signal handling on one thread: SIGCHLD reaps, and the ways a VM is asked to turn
// off become one shutdown request:
//   SIGTERM, SIGUSR2, SIGPWR  `kill 1` from inside, busybox-style poweroff, UPS-style power
//   SIGINT                    Ctrl-Alt-Del (after reboot(RB_DISABLE_CAD) the kernel sends it)
//   ACPI power button         QEMU system_powerdown / VZ requestStop (see acpi_events.h);
//                             the kernel sends init no signal for it
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "berth/common/result.h"

namespace berth::agent::init {

// One request wins; later ones are logged and ignored.
class ShutdownRequest {
 public:
  void request(const std::string& reason);
  std::string wait();  // blocks until requested; the reason
  bool requested() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> reason_;
};

// Blocks the handled signals in the calling thread (call before any other thread starts so
// all inherit the mask) and gives them a no-op handler: the kernel drops signals to PID 1
// whose action is SIG_DFL, which would hide them from the signalfd.
void block_pid1_signals();

// Starts the loop thread. reap: SIGCHLD runs ChildReaper::reap_all(); otherwise SIGCHLD is
// left to the agent's own reaper.
Status start_signal_loop(bool reap, ShutdownRequest& shutdown);

}  // namespace berth::agent::init
