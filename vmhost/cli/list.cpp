// berth list [--json]
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "berth/common/json.h"
#include "cli/common.h"
#include "cli/verbs.h"
#include "instance/name.h"
#include "instance/size.h"

namespace berth::cli {

namespace {

struct Row {
  std::string name, status, arch, cpus, memory, disk, socket;
};

int run_list(bool json) {
  auto home = instance::berth_home();
  if (!home) return fail("list", home.error().what());
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(*home, ec)) {
    std::string n = e.path().filename().string();
    if (instance::validate_name(n) && std::filesystem::exists(e.path() / instance::kConfigFile)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  std::vector<Row> rows;
  OrderedJson out = OrderedJson::array();
  for (const auto& n : names) {
    auto ref = resolve(n);
    if (!ref) continue;
    auto config = instance::load(ref->paths.config());
    auto st = current_state(*ref);
    bool running = st.state == instance::State::running;
    Row r;
    r.name = n;
    r.status = std::string(instance::state_name(st.state));
    if (config) {
      r.arch = config->arch;
      r.cpus = std::to_string(config->cpus);
      r.memory = instance::format_size(config->memory);
      r.disk = instance::format_size(config->disk);
    } else {
      r.status = "broken config";
      r.arch = r.cpus = r.memory = r.disk = "-";
    }
    r.socket = running ? ref->paths.docker_socket() : "-";
    OrderedJson j;
    j["name"] = n;
    j["status"] = r.status;
    if (!st.reason.empty()) j["reason"] = st.reason;
    if (config) {
      j["arch"] = config->arch;
      j["cpus"] = config->cpus;
      j["memory"] = config->memory;
      j["disk"] = config->disk;
    } else {
      j["error"] = config.error().what();
    }
    j["docker_host"] = docker_host(*ref);
    out.push_back(j);
    rows.push_back(std::move(r));
  }
  if (json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  Row header{"NAME", "STATUS", "ARCH", "CPUS", "MEMORY", "DISK", "SOCKET"};
  size_t w[6] = {};
  auto widen = [&](const Row& r) {
    const std::string* cols[] = {&r.name, &r.status, &r.arch, &r.cpus, &r.memory, &r.disk};
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], cols[i]->size());
  };
  widen(header);
  for (const auto& r : rows) widen(r);
  auto print = [&](const Row& r) {
    std::printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", int(w[0]), r.name.c_str(), int(w[1]), r.status.c_str(),
                int(w[2]), r.arch.c_str(), int(w[3]), r.cpus.c_str(), int(w[4]), r.memory.c_str(), int(w[5]),
                r.disk.c_str(), r.socket.c_str());
  };
  print(header);
  for (const auto& r : rows) print(r);
  return 0;
}

}  // namespace

void add_list(CLI::App& app, Action& action) {
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("list", "List instances");
  sub->alias("ls");
  sub->add_flag("--json", *json, "machine-readable output");
  sub->callback([json, &action] { action = [json] { return run_list(*json); }; });
}

}  // namespace berth::cli
