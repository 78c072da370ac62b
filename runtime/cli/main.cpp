// berth-runtime: a drop-in for runc as containerd, dockerd and berth's shim call it.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <set>

#include "berth/common/log.h"
#include "berth/common/version.h"
#include "cli.h"

namespace berth::runtime::cli {

namespace {
Action g_action;
}

std::vector<std::string> g_exec_command;

void split_exec_command(std::vector<std::string>& args) {
  static const std::set<std::string> with_value = {"-p", "--process", "--cwd", "-e", "--env", "-u", "--user",
                                                   "-g", "--additional-gids", "-c", "--cap", "--pid-file",
                                                   "--console-socket", "--preserve-fds", "--apparmor",
                                                   "--process-label", "--cgroup", "--root", "--log", "--log-format",
                                                   "--criu"};
  auto exec = std::find(args.begin(), args.end(), "exec");
  if (exec == args.end()) return;
  for (auto it = exec + 1; it != args.end(); ++it) {
    const std::string& a = *it;
    if (a == "--") {
      it = args.erase(it);
      if (it == args.end()) return;
    } else if (a.size() > 1 && a[0] == '-') {
      if (a.find('=') == std::string::npos && with_value.count(a) && it + 1 != args.end()) ++it;
      continue;
    }
    // `it` is the container id.
    g_exec_command.assign(it + 1, args.end());
    args.erase(it + 1, args.end());
    return;
  }
}

void set_action(CLI::App* cmd, Action action) {
  cmd->callback([action] { g_action = action; });
}

}  // namespace berth::runtime::cli

int main(int argc, char** argv) {
  using namespace berth::runtime;
  using namespace berth::runtime::cli;
  // Commands that put a process into a container first detach from the on-disk binary.
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "create" || a == "run" || a == "exec") {
      ensure_cloned_binary(argc, argv);
      break;
    }
  }

  Context ctx;
  CLI::App app{"berth-runtime: an OCI container runtime compatible with runc's command line"};
  app.require_subcommand(1);
  app.set_version_flag("-v,--version",
                       std::string("berth-runtime version ") + berth::kVersion + "\ncommit: " + berth::kGitCommit +
                           "\nspec: " + berth::oci::kSpecVersion);
  app.add_option("--root", ctx.root, "directory for container state");
  app.add_option("--log", ctx.log_file, "log file (default stderr)");
  app.add_option("--log-format", ctx.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", ctx.debug, "debug logging");
  app.add_flag("--systemd-cgroup", ctx.systemd_cgroup, "use systemd to manage cgroups (not supported)");
  app.add_option("--criu", "ignored: checkpoint/restore is not supported");
  app.add_flag("--rootless")->description("ignored: berth-runtime detects this itself");

  add_create(app, ctx);
  add_start(app, ctx);
  add_run(app, ctx);
  add_exec(app, ctx);
  add_state(app, ctx);
  add_list(app, ctx);
  add_ps(app, ctx);
  add_kill(app, ctx);
  add_delete(app, ctx);
  add_pause_resume(app, ctx);
  add_update(app, ctx);
  add_spec(app, ctx);
  add_features(app, ctx);

  // runc stops parsing options at the container id: everything after it is the command
  // (so `exec ID sh -c X` works). CLI11 would read `-c` as --cap, so split here.
  std::vector<std::string> args(argv + 1, argv + argc);
  split_exec_command(args);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  berth::log::Options lo;
  lo.part = "runtime";
  lo.file = ctx.log_file;
  lo.format = ctx.log_format == "json" ? berth::log::Format::json : berth::log::Format::text;
  lo.level = ctx.debug ? spdlog::level::debug : spdlog::level::warn;
  berth::log::setup(lo);

  if (ctx.systemd_cgroup) {
    const char* msg = "--systemd-cgroup is not supported by berth-runtime; use cgroupfs paths";
    spdlog::error(msg);
    if (!ctx.log_file.empty()) std::cerr << "berth-runtime: " << msg << "\n";
    return 1;
  }
  auto result = g_action();
  if (!result) {
    std::string msg = result.error().what();
    spdlog::error(msg);
    // With --log the engine reads the file; a person running us by hand reads stderr.
    if (!ctx.log_file.empty()) std::cerr << "berth-runtime: " << msg << "\n";
    return 1;
  }
  return *result;
}
