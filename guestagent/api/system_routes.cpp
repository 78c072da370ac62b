// GET/HEAD /_ping, GET /version, GET /info, GET /events.
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

#include "agent.h"
#include "berth/common/version.h"
#include "core/daemon_config.h"
#include "core/filters.h"
#include "core/ids.h"
#include "core/stats.h"
#include "routes.h"

namespace berth::agent {

namespace {

std::string os_pretty_name() {
  std::ifstream f("/etc/os-release");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

std::string cgroup_version() { return ::access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1"; }

Status ping(http::Request& req, http::Response& res) {
  (void)req;
  res.add_header("Builder-Version", "1");
  res.add_header("Cache-Control", "no-cache, no-store, must-revalidate");
  res.add_header("Pragma", "no-cache");
  res.add_header("Swarm", "inactive");
  return res.send(200, "text/plain; charset=utf-8", "OK");
}

Json version_json() {
  struct utsname u {};
  ::uname(&u);
  std::string arch = u.machine;
  std::string goarch = arch == "x86_64" ? "amd64" : arch == "aarch64" ? "arm64" : arch;
  Json details = {{"ApiVersion", http::kMaxApiVersion.str()},
                  {"Arch", goarch},
                  {"BuildTime", ""},
                  {"Experimental", "false"},
                  {"GitCommit", kGitCommit},
                  {"GoVersion", "n/a (C++)"},
                  {"KernelVersion", u.release},
                  {"MinAPIVersion", http::kMinApiVersion.str()},
                  {"Os", "linux"}};
  return {{"Platform", {{"Name", "berth"}}},
          {"Components", Json::array({{{"Name", "Engine"}, {"Version", kVersion}, {"Details", details}}})},
          {"Version", kVersion},
          {"ApiVersion", http::kMaxApiVersion.str()},
          {"MinAPIVersion", http::kMinApiVersion.str()},
          {"GitCommit", kGitCommit},
          {"GoVersion", "n/a (C++)"},
          {"Os", "linux"},
          {"Arch", goarch},
          {"KernelVersion", u.release},
          {"BuildTime", ""}};
}

Json info_json(Agent& agent) {
  struct utsname u {};
  ::uname(&u);
  auto counts = agent.containers().counts();
  auto images = agent.images().list();
  long ncpu = ::sysconf(_SC_NPROCESSORS_ONLN);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  Json runtimes = {{"berth", {{"path", agent.options().runtime_bin}}}};
  return {{"ID", agent.id()},
          {"Containers", counts.total},
          {"ContainersRunning", counts.running},
          {"ContainersPaused", counts.paused},
          {"ContainersStopped", counts.stopped},
          {"Images", images ? static_cast<int64_t>(images->size()) : 0},
          {"Driver", "overlay2"},
          {"DriverStatus", Json::array({Json::array({"Backing Filesystem", "berth overlay snapshots"})})},
          {"Plugins",
           {{"Volume", {"local"}}, {"Network", {"host", "null"}}, {"Authorization", nullptr}, {"Log", {"json-file", "local"}}}},
          {"MemoryLimit", true},
          {"SwapLimit", ::access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 || cgroup_version() == "2"},
          {"CpuCfsPeriod", true},
          {"CpuCfsQuota", true},
          {"CPUShares", true},
          {"CPUSet", true},
          {"PidsLimit", true},
          {"IPv4Forwarding", false},
          {"BridgeNfIptables", false},
          {"BridgeNfIp6tables", false},
          {"Debug", false},
          {"NFd", 0},
          {"OomKillDisable", false},
          {"NGoroutines", 0},
          {"SystemTime", now_string()},
          {"LoggingDriver", "json-file"},
          {"CgroupDriver", "cgroupfs"},
          {"CgroupVersion", cgroup_version()},
          {"NEventsListener", 0},
          {"KernelVersion", u.release},
          {"OperatingSystem", os_pretty_name()},
          {"OSVersion", ""},
          {"OSType", "linux"},
          {"Architecture", u.machine},
          {"IndexServerAddress", "https://index.docker.io/v1/"},
          {"RegistryConfig", registry_info_json(agent.options().registry)},
          {"NCPU", ncpu > 0 ? ncpu : 1},
          {"MemTotal", host_memory_bytes()},
          {"GenericResources", nullptr},
          {"DockerRootDir", agent.options().state_root},
          {"HttpProxy", ""},
          {"HttpsProxy", ""},
          {"NoProxy", ""},
          {"Name", host},
          {"Labels", Json::array()},
          {"ExperimentalBuild", false},
          {"ServerVersion", kVersion},
          {"Runtimes", runtimes},
          {"DefaultRuntime", "berth"},
          {"Swarm",
           {{"NodeID", ""}, {"NodeAddr", ""}, {"LocalNodeState", "inactive"}, {"ControlAvailable", false}, {"Error", ""},
            {"RemoteManagers", nullptr}}},
          {"LiveRestoreEnabled", true},
          {"Isolation", ""},
          {"InitBinary", agent.options().init_bin.empty() ? "" : "docker-init"},
          {"ContainerdCommit", {{"ID", ""}}},
          {"RuncCommit", {{"ID", ""}}},
          {"InitCommit", {{"ID", ""}}},
          {"SecurityOptions", {"name=seccomp,profile=builtin", "name=cgroupns"}},
          {"DefaultAddressPools", Json::array()},
          {"Warnings", agent.options().native
                           ? Json::array({"berth native mode: no bridge networking; containers get --network none unless "
                                          "--network host"})
                           : Json::array()}};
}

Status events(Agent& agent, http::Request& req, http::Response& res) {
  auto filters = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(filters.validate({"container", "daemon", "event", "image", "label", "network", "node", "plugin", "scope",
                              "secret", "service", "type", "volume", "config"}));
  int64_t now = now_ns();
  int64_t since = req.query.get("since").empty() ? now : BERTH_TRY(parse_timestamp_param(req.query.get("since"), "since"));
  int64_t until = req.query.get("until").empty() ? 0 : BERTH_TRY(parse_timestamp_param(req.query.get("until"), "until"));
  if (until && until < since) return make_error(Errc::invalid_argument, "since time must be before until time");
  std::vector<Event> past;
  auto sub = agent.events().subscribe(since, past);
  struct Unsub {
    EventBus& bus;
    std::shared_ptr<EventBus::Subscription> s;
    ~Unsub() { bus.unsubscribe(s); }
  } unsub{agent.events(), sub};
  BERTH_TRY(res.begin_stream(200, "application/json"));
  auto emit = [&](const Event& e) -> Status {
    if (!event_matches(e, filters)) return ok();
    return res.write(to_json(e).dump() + "\n");
  };
  for (const auto& e : past) {
    if (until && e.time_nano > until) return res.end_stream();
    BERTH_TRY(emit(e));
  }
  for (;;) {
    if (until && now_ns() > until) return res.end_stream();
    auto e = sub->next(500);
    if (e) {
      if (until && e->time_nano > until) return res.end_stream();
      BERTH_TRY(emit(*e));
    } else if (res.client_gone()) {
      res.force_close();
      return ok();
    }
  }
}

}  // namespace

void register_system_routes(http::Router& router, Agent& agent) {
  router.add("GET", "/_ping", ping);
  router.add("HEAD", "/_ping", ping);
  router.add("GET", "/version", [](http::Request&, http::Response& res) { return res.json(200, version_json()); });
  router.add("GET", "/info", [&agent](http::Request&, http::Response& res) { return res.json(200, info_json(agent)); });
  router.add("GET", "/events", [&agent](http::Request& req, http::Response& res) { return events(agent, req, res); });
}

}  // namespace berth::agent
