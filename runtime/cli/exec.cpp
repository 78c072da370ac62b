#include "cli.h"

namespace berth::runtime::cli {

void add_exec(CLI::App& app, Context& ctx) {
  auto* o = new ExecOptions;
  auto* cmd = app.add_subcommand("exec", "run a new process inside a container");
  cmd->add_option("id", o->id, "container id")->required();
  cmd->add_option("-p,--process", o->process_file, "process.json to run (- for stdin)");
  cmd->add_flag("-t,--tty", o->tty, "allocate a pseudo-terminal");
  cmd->add_option("--cwd", o->cwd, "working directory in the container");
  cmd->add_option("-e,--env", o->env, "extra environment variable");
  cmd->add_option("-u,--user", o->user, "uid[:gid]");
  cmd->add_option("-g,--additional-gids", o->additional_gids, "additional group ids");
  cmd->add_option("-c,--cap", o->caps, "add a capability");
  cmd->add_flag("--no-new-privs", o->no_new_privs, "set no_new_privs");
  cmd->add_flag("-d,--detach", o->detach, "do not wait for the process");
  cmd->add_option("--pid-file", o->pid_file, "file to write the process pid to");
  cmd->add_option("--console-socket", o->console_socket, "unix socket that receives the pty master");
  cmd->add_option("--preserve-fds", o->preserve_fds, "pass N extra fds");
  cmd->add_option("--apparmor", "ignored: AppArmor is not supported");
  cmd->add_option("--process-label", "ignored: SELinux is not supported");
  cmd->add_option("--cgroup", "ignored: exec joins the container's cgroup");
  set_action(cmd, [&ctx, o]() -> Result<int> {
    o->args = g_exec_command;
    return ctx.runtime().exec(*o);
  });
}

}  // namespace berth::runtime::cli
