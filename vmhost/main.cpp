// berth: runs Linux containers in a small VM and bridges its Docker API to a host socket.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/verbs.h"

int main(int argc, char** argv) {
  try {
    CLI::App app{"berth: Linux containers in a lightweight VM, driven by the docker CLI"};
    app.name("berth");
    app.require_subcommand(1);
    berth::cli::Action action;
    berth::cli::add_start(app, action);
    berth::cli::add_stop(app, action);
    berth::cli::add_restart(app, action);
    berth::cli::add_status(app, action);
    berth::cli::add_list(app, action);
    berth::cli::add_delete(app, action);
    berth::cli::add_logs(app, action);
    berth::cli::add_docker_env(app, action);
    berth::cli::add_version(app, action);
    berth::cli::add_vmhost(app, action);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return app.exit(e);
    }
    return action ? action() : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth: %s\n", e.what());
    return 1;
  }
}
