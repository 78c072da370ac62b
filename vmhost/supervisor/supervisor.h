// The per-instance host process (`berth __vmhost NAME`): owns the VM, its helpers and the
// Docker socket bridge; reports progress and outcome in status.json; stops everything on
// `berth stop` (SIGTERM; SIGUSR1 for --force), on SIGINT/SIGHUP, and when the VM exits.
#pragma once

#include <chrono>
#include <string>

namespace berth::supervisor {

struct Options {
  std::string name;
  std::string home;       // BERTH_HOME
  std::string image_dir;  // the guest image, as located by `berth start`
  int lock_fd = -1;       // the instance lock inherited from `berth start`; -1: take it
  std::chrono::seconds boot_timeout{600};
  // How long the guest gets to shut down after POST /berth/v1/shutdown.
  std::chrono::seconds shutdown_timeout{30};
};

// Returns the process exit status: 0 after a requested stop, 1 when it failed or the VM
// ended by itself.
int run(const Options& options);

}  // namespace berth::supervisor
