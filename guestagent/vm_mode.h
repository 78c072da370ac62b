// VM mode: berth-agent as PID 1 of berth's guest. PID 1's work is guestagent/init/; this
// plugs the Docker API side into it (Pid1Options): the Agent serves the vsock 2375 listener,
// core's Reaper reaps (one reaper per process) and stops containers at shutdown.
#pragma once

#include "init/pid1.h"

namespace berth::agent {

init::Pid1Options vm_mode_options();

}  // namespace berth::agent
