#include "cli.h"

namespace berth::runtime::cli {

void add_kill(CLI::App& app, Context& ctx) {
  auto* id = new std::string;
  auto* sig = new std::string("SIGTERM");
  auto* all = new bool(false);
  auto* cmd = app.add_subcommand("kill", "send a signal to a container's init (or all its processes)");
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("signal", *sig, "signal name or number (default SIGTERM)");
  cmd->add_flag("-a,--all", *all, "signal every process in the container");
  set_action(cmd, [&ctx, id, sig, all]() -> Result<int> {
    int signo = BERTH_TRY(parse_signal(*sig));
    BERTH_TRY(ctx.runtime().kill(*id, signo, *all));
    return 0;
  });
}

void add_delete(CLI::App& app, Context& ctx) {
  auto* ids = new std::vector<std::string>;
  auto* force = new bool(false);
  auto* cmd = app.add_subcommand("delete", "delete a container's state (and processes with --force)");
  cmd->alias("rm");
  cmd->add_option("id", *ids, "container id")->required();
  cmd->add_flag("-f,--force", *force, "kill the container if it is running");
  set_action(cmd, [&ctx, ids, force]() -> Result<int> {
    for (const auto& id : *ids) BERTH_TRY(ctx.runtime().remove(id, *force));
    return 0;
  });
}

void add_pause_resume(CLI::App& app, Context& ctx) {
  auto* pid = new std::string;
  auto* pause = app.add_subcommand("pause", "freeze every process of a container");
  pause->add_option("id", *pid, "container id")->required();
  set_action(pause, [&ctx, pid]() -> Result<int> {
    BERTH_TRY(ctx.runtime().pause(*pid));
    return 0;
  });
  auto* rid = new std::string;
  auto* resume = app.add_subcommand("resume", "thaw a paused container");
  resume->add_option("id", *rid, "container id")->required();
  set_action(resume, [&ctx, rid]() -> Result<int> {
    BERTH_TRY(ctx.runtime().resume(*rid));
    return 0;
  });
}

}  // namespace berth::runtime::cli
