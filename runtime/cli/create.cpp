#include "cli.h"

namespace berth::runtime::cli {

void add_create_options(CLI::App* cmd, CreateOptions& o) {
  cmd->add_option("id", o.id, "container id")->required();
  cmd->add_option("-b,--bundle", o.bundle, "bundle directory (holds config.json)");
  cmd->add_option("--pid-file", o.pid_file, "file to write the init pid to");
  cmd->add_option("--console-socket", o.console_socket, "unix socket that receives the pty master");
  cmd->add_flag("--no-pivot", o.no_pivot, "use MS_MOVE + chroot instead of pivot_root (initramfs roots)");
  cmd->add_flag("--no-new-keyring", o.no_new_keyring, "do not create a new session keyring");
  cmd->add_option("--preserve-fds", o.preserve_fds, "pass N extra fds (3..3+N-1) to the container");
}

void add_create(CLI::App& app, Context& ctx) {
  auto* o = new CreateOptions;  // lives for the process; CLI11 binds to it
  auto* cmd = app.add_subcommand("create", "create a container (its process waits for start)");
  add_create_options(cmd, *o);
  set_action(cmd, [&ctx, o]() -> Result<int> {
    BERTH_TRY(ctx.runtime().create(*o));
    return 0;
  });
}

void add_start(CLI::App& app, Context& ctx) {
  auto* id = new std::string;
  auto* cmd = app.add_subcommand("start", "start a created container's process");
  cmd->add_option("id", *id, "container id")->required();
  set_action(cmd, [&ctx, id]() -> Result<int> {
    BERTH_TRY(ctx.runtime().start(*id));
    return 0;
  });
}

void add_run(CLI::App& app, Context& ctx) {
  auto* o = new CreateOptions;
  auto* detach = new bool(false);
  auto* cmd = app.add_subcommand("run", "create and start a container; wait for it unless --detach");
  add_create_options(cmd, *o);
  cmd->add_flag("-d,--detach", *detach, "return once the container started");
  cmd->add_flag("--keep")->description("ignored");
  set_action(cmd, [&ctx, o, detach]() -> Result<int> { return ctx.runtime().run(*o, *detach); });
}

}  // namespace berth::runtime::cli
