// berth docker-env [NAME], berth version, and the hidden berth __vmhost.
#include <cstdio>

#include "berth/common/protocol.h"
#include "berth/common/version.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "supervisor/supervisor.h"

namespace berth::cli {

void add_docker_env(CLI::App& app, Action& action) {
  auto name = std::make_shared<std::string>("default");
  auto* sub = app.add_subcommand("docker-env", "Print the shell command that points docker at an instance");
  sub->add_option("name", *name, "instance name")->default_val("default");
  sub->callback([name, &action] {
    action = [name] {
      auto ref = resolve(*name);
      if (!ref) return fail("docker-env", ref.error().what());
      if (!exists(*ref)) return fail("docker-env", "instance " + *name + " does not exist");
      if (current_state(*ref).state != instance::State::running) {
        std::fprintf(stderr, "berth: instance \"%s\" is not running (start it with `berth start %s`)\n", name->c_str(),
                     name->c_str());
      }
      std::printf("export DOCKER_HOST=%s\n", docker_host(*ref).c_str());
      return 0;
    };
  });
}

void add_version(CLI::App& app, Action& action) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("version", "Print berth's version");
  sub->add_flag("--json", *json, "machine-readable output");
  sub->callback([json, &action] {
    action = [json] {
      if (*json) {
        std::printf("{\"version\":\"%s\",\"commit\":\"%s\",\"protocol\":%u}\n", kVersion, kGitCommit,
                    protocol::kProtocolVersion);
      } else {
        std::printf("berth %s (commit %s, host/guest protocol %u)\n", kVersion, kGitCommit, protocol::kProtocolVersion);
      }
      return 0;
    };
  });
}

void add_vmhost(CLI::App& app, Action& action) {
  struct Args {
    std::string name;
    std::string home;
    std::string image_dir;
    int lock_fd = -1;
    int boot_timeout = 600;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("__vmhost", "");
  sub->group("");  // hidden: launched by `berth start`
  sub->add_option("name", args->name)->required();
  sub->add_option("--home", args->home)->required();
  sub->add_option("--image-dir", args->image_dir)->required();
  sub->add_option("--lock-fd", args->lock_fd);
  sub->add_option("--boot-timeout", args->boot_timeout);
  sub->callback([args, &action] {
    action = [args] {
      supervisor::Options o;
      o.name = args->name;
      o.home = args->home;
      o.image_dir = args->image_dir;
      o.lock_fd = args->lock_fd;
      o.boot_timeout = std::chrono::seconds(args->boot_timeout);
      return supervisor::run(o);
    };
  });
}

}  // namespace berth::cli
