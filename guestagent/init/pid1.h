// berth-agent as PID 1 of the VM: does what init and early userspace would (mounts, modules,
// network, data disk, shares, clock), serves the control API on vsock 1024, hands vsock 2375
// to the Docker API server, reaps orphans, and on request stops everything and powers off.
//
// Boot order and why:
//   root bind + system mounts   everything else needs /proc, /sys, /dev
//   command line, clock, name   cheap, and later log lines then carry the right time
//   signal loop                 reaping and shutdown signals from here on
//   modules                     the disk's driver, then the data disk (probe, mount, format
//   ∥ data disk ∥ network       on first boot) on a thread; the network's driver, then DHCP
//                               on a thread; meanwhile the other device modules (vsock,
//                               virtiofs) load: a mount and DHCP mostly wait on QEMU.
//                               Then the shares (host folders)
//   ∥ late modules              overlay, bridge, netfilter: only containers need them, so
//                               they load on an idle-priority thread and may finish after
//   vsock listeners             last: "ready" means every step above is done (but the
//                               late modules); the control API answers from here on
//   Docker API server           right after ready: `docker version` and pulls need no
//                               late module; what mounts an overlay waits for them
//                               (container_modules), since `berth start` returns on the
//                               first answer and that is 300-500 ms sooner under TCG
// A shutdown requested during boot (signal, power button) is carried out once boot is done:
// every step is bounded, and stopping halfway through formatting would be worse.
#pragma once

#include <chrono>
#include <functional>
#include <future>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "init/command.h"

namespace berth::agent::init {

struct Pid1Options {
  // Integration point for the Docker API server (guestagent/api/): receives the listening
  // AF_VSOCK socket for port 2375 after ready, and a future that is ready once the
  // container-only modules (overlay, bridge, netfilter) are loaded, which whatever needs them
  // must wait for. Must return promptly (serve on its own threads). Empty: port 2375 stays
  // closed and the console says so.
  std::function<Status(UniqueFd listener, std::shared_future<void> container_modules)> serve_docker_api;

  // Stops containers at shutdown within `budget` (Docker's per-container stop signal and
  // timeout). Empty: terminate_all_processes(). Whatever still runs afterwards is SIGKILLed.
  std::function<void(std::chrono::milliseconds budget)> stop_containers;
  std::chrono::milliseconds stop_budget{10000};

  // For an agent with its own reaper (guestagent/core's Reaper): start_reaper replaces PID 1's
  // SIGCHLD reaping (init::ChildReaper) and run_command runs mke2fs, e2fsck and debug/exec.
  // Set both or neither: two reapers in one process steal each other's exit statuses.
  std::function<Status()> start_reaper;
  CommandRunner run_command;

  std::chrono::milliseconds dhcp_timeout{3000};
};

// True when this process should be the VM's init: it is PID 1, or argv has --pid1 (for
// starting it by hand from the guest's emergency shell) and it runs inside a berth guest
// image — /etc/berth/VERSION exists — never on a host, where it would mount over /proc and
// power the machine off.
bool should_run_as_pid1(int argc, char** argv);

[[noreturn]] void run_pid1(Pid1Options options);

}  // namespace berth::agent::init
