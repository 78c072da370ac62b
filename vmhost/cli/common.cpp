#include "cli/common.h"

#include <cstdio>

#include "berth/common/fs.h"
#include "instance/lock.h"
#include "instance/name.h"

namespace berth::cli {

Result<InstanceRef> resolve(const std::string& name) {
  BERTH_TRY(instance::validate_name(name));
  std::string home = BERTH_TRY(instance::berth_home());
  return InstanceRef{name, home, instance::Paths(home + "/" + name)};
}

bool exists(const InstanceRef& ref) { return fs::exists(ref.paths.config()); }

Result<instance::Config> load_existing(const InstanceRef& ref) {
  if (!exists(ref)) {
    return make_error(Errc::not_found,
                      "instance " + ref.name + " does not exist (create it with `berth start " + ref.name + "`)");
  }
  return instance::load(ref.paths.config());
}

bool vmhost_alive(const InstanceRef& ref) {
  auto held = instance::lock_held(ref.paths.lock());
  return held && *held;
}

instance::RunState current_state(const InstanceRef& ref) {
  return instance::effective_state(instance::read_run_state(ref.paths.status()), vmhost_alive(ref));
}

int fail(std::string_view verb, const std::string& message) {
  std::string line = "berth: " + std::string(verb) + ": " + message + "\n";
  std::fputs(line.c_str(), stderr);
  return 1;
}

std::string docker_host(const InstanceRef& ref) { return "unix://" + ref.paths.docker_socket(); }

}  // namespace berth::cli
