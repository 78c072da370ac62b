// berth status [NAME] [--json]
#include <cstdio>

#include "berth/common/json.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "instance/pid_file.h"
#include "instance/size.h"

namespace berth::cli {

namespace {

int run_status(const std::string& name, bool json) {
  auto ref = resolve(name);
  if (!ref) return fail("status", ref.error().what());
  auto config = load_existing(*ref);
  if (!config) return fail("status", config.error().what());
  auto st = current_state(*ref);
  bool running = st.state == instance::State::running;
  if (json) {
    OrderedJson j;
    j["name"] = ref->name;
    j["status"] = std::string(instance::state_name(st.state));
    if (!st.step.empty()) j["step"] = st.step;
    if (!st.reason.empty()) j["reason"] = st.reason;
    j["description"] = st.describe();
    j["arch"] = config->arch;
    j["vm_type"] = config->vm_type;
    if (!st.backend.empty()) j["backend"] = st.backend;
    j["cpus"] = config->cpus;
    j["memory"] = config->memory;
    j["disk"] = config->disk;
    j["mounts"] = OrderedJson::array();
    for (const auto& m : config->mounts) j["mounts"].push_back({{"path", m.path}, {"writable", m.writable}});
    j["dir"] = ref->paths.dir();
    j["docker_host"] = docker_host(*ref);
    if (st.state != instance::State::stopped && st.pid) j["pid"] = st.pid;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("name:     %s\n", ref->name.c_str());
  std::printf("status:   %s\n", st.describe().c_str());
  std::printf("arch:     %s\n", config->arch.c_str());
  std::printf("vm:       %s\n", st.backend.empty() ? config->vm_type.c_str() : st.backend.c_str());
  std::printf("cpus:     %u\n", config->cpus);
  std::printf("memory:   %s\n", instance::format_size(config->memory).c_str());
  std::printf("disk:     %s\n", instance::format_size(config->disk).c_str());
  for (size_t i = 0; i < config->mounts.size(); ++i) {
    std::printf("%s%s\n", i == 0 ? "mounts:   " : "          ", instance::format_mount(config->mounts[i]).c_str());
  }
  if (config->mounts.empty()) std::printf("mounts:   (none)\n");
  std::printf("dir:      %s\n", ref->paths.dir().c_str());
  std::printf("socket:   %s%s\n", docker_host(*ref).c_str(), running ? "" : " (not running)");
  return 0;
}

}  // namespace

void add_status(CLI::App& app, Action& action) {
  struct Args {
    std::string name = "default";
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("status", "Show an instance's state and settings");
  sub->add_option("name", args->name, "instance name")->default_val("default");
  sub->add_flag("--json", args->json, "machine-readable output");
  sub->callback([args, &action] { action = [args] { return run_status(args->name, args->json); }; });
}

}  // namespace berth::cli
