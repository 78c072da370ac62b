// The runc-compatible command line: one file per verb, each registering its subcommand.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "runtime.h"

namespace berth::runtime::cli {

struct Context {
  std::string root = "/run/berth-runtime";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  int exit_code = 0;
  Runtime runtime() const { return Runtime(root); }
};

// Each verb's action returns the process exit status; errors are reported by main.
using Action = std::function<Result<int>()>;
void set_action(CLI::App* cmd, Action action);

void add_create(CLI::App& app, Context& ctx);
void add_start(CLI::App& app, Context& ctx);
void add_run(CLI::App& app, Context& ctx);
void add_exec(CLI::App& app, Context& ctx);
void add_state(CLI::App& app, Context& ctx);
void add_list(CLI::App& app, Context& ctx);
void add_ps(CLI::App& app, Context& ctx);
void add_kill(CLI::App& app, Context& ctx);
void add_delete(CLI::App& app, Context& ctx);
void add_pause_resume(CLI::App& app, Context& ctx);
void add_update(CLI::App& app, Context& ctx);
void add_spec(CLI::App& app, Context& ctx);
void add_features(CLI::App& app, Context& ctx);

// The command after `exec ID`, split off before option parsing.
extern std::vector<std::string> g_exec_command;
void split_exec_command(std::vector<std::string>& args);

// Options shared by create and run.
void add_create_options(CLI::App* cmd, CreateOptions& o);

}  // namespace berth::runtime::cli
