// berth delete [NAME] [--force]
#include <cstdio>

#include "berth/common/fs.h"
#include "cli/common.h"
#include "cli/docker_context.h"
#include "cli/verbs.h"
#include "instance/lock.h"

namespace berth::cli {

namespace {

int run_delete(const std::string& name, bool force) {
  auto ref = resolve(name);
  if (!ref) return fail("delete", ref.error().what());
  if (!fs::exists(ref->paths.dir())) return fail("delete", "instance " + name + " does not exist");
  if (vmhost_alive(*ref)) {
    if (!force) {
      return fail("delete", "instance " + name + " is running; stop it first (`berth stop " + name +
                                "`) or use `berth delete --force " + name + "`");
    }
    if (int rc = run_stop(name, /*force=*/true, 20, "delete"); rc != 0) return rc;
  }
  // Held while deleting, so that a concurrent start cannot boot from a half-removed disk.
  auto lock = instance::Lock::try_acquire(ref->paths.lock());
  if (!lock) return fail("delete", lock.error().what());
  if (!*lock) return fail("delete", "instance " + name + " is being started by another berth process");
  if (auto st = fs::remove_all(ref->paths.dir()); !st) return fail("delete", st.error().what());
  remove_docker_context(name);
  std::fprintf(stderr, "berth: instance \"%s\" deleted\n", name.c_str());
  return 0;
}

}  // namespace

void add_delete(CLI::App& app, Action& action) {
  struct Args {
    std::string name = "default";
    bool force = false;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("delete", "Delete an instance: its disk (images, containers, volumes) and files");
  sub->alias("rm");
  sub->add_option("name", args->name, "instance name")->default_val("default");
  sub->add_flag("--force,-f", args->force, "stop it first if it is running");
  sub->callback([args, &action] { action = [args] { return run_delete(args->name, args->force); }; });
}

}  // namespace berth::cli
