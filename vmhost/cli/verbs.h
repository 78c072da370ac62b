// The `berth` verbs. Each add_* registers a subcommand whose callback stores the action
// to run in `action`; main() runs it after parsing and exits with its status.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace berth::cli {

using Action = std::function<int()>;

void add_start(CLI::App& app, Action& action);
void add_stop(CLI::App& app, Action& action);
void add_restart(CLI::App& app, Action& action);
void add_status(CLI::App& app, Action& action);
void add_list(CLI::App& app, Action& action);
void add_delete(CLI::App& app, Action& action);
void add_logs(CLI::App& app, Action& action);
void add_docker_env(CLI::App& app, Action& action);
void add_version(CLI::App& app, Action& action);
// Hidden: the per-instance host process that `berth start` launches.
void add_vmhost(CLI::App& app, Action& action);

// Shared by start and restart.
struct StartRequest {
  std::string name = "default";
  std::string cpus;
  std::string memory;
  std::string disk;
  std::vector<std::string> mounts;
  bool mounts_given = false;
  bool no_mounts = false;
  std::string vm_type;
  std::string arch;
  std::string image_dir;
  int timeout_s = 600;
};
int run_start(const StartRequest& request, const char* verb);

// Shared by stop, restart and delete --force. Returns 0 when stopped (or not running).
int run_stop(const std::string& name, bool force, int timeout_s, const char* verb);

}  // namespace berth::cli
