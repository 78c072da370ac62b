#include "container.h"

#include "json_reader.h"

namespace berth::agent {

Json to_json(const ContainerState& s) {
  Json j{{"Status", s.status},       {"Running", s.running}, {"Paused", s.paused},
              {"Restarting", s.restarting}, {"OOMKilled", s.oom_killed}, {"Dead", s.dead},
              {"Pid", s.pid},             {"ExitCode", s.exit_code}, {"Error", s.error},
              {"StartedAt", s.started_at}, {"FinishedAt", s.finished_at}};
  if (s.health) j["Health"] = to_json(*s.health);
  return j;
}

Json to_json(const MountPoint& m) {
  Json j = Json::object();
  j["Type"] = m.type;
  if (!m.name.empty()) j["Name"] = m.name;
  j["Source"] = m.source;
  j["Destination"] = m.destination;
  if (!m.driver.empty()) j["Driver"] = m.driver;
  j["Mode"] = m.mode;
  j["RW"] = m.rw;
  j["Propagation"] = m.propagation;
  return j;
}

Json to_json(const Container& c) {
  Json j = Json::object();
  j["Id"] = c.id;
  j["Created"] = c.created;
  j["Path"] = c.path;
  j["Args"] = c.args;
  j["State"] = to_json(c.state);
  j["Image"] = c.image;
  j["ResolvConfPath"] = c.resolv_conf_path;
  j["HostnamePath"] = c.hostname_path;
  j["HostsPath"] = c.hosts_path;
  j["LogPath"] = c.log_path;
  j["Name"] = c.name;
  j["RestartCount"] = c.restart_count;
  j["HasBeenManuallyStopped"] = c.manually_stopped;
  Json mounts = Json::array();
  for (const auto& m : c.mounts) {
    Json mj = to_json(m);
    // Kept for restarts; inspect leaves these out.
    if (!m.tmpfs_options.empty()) mj["BerthTmpfsOptions"] = m.tmpfs_options;
    if (m.copy_up) mj["BerthCopyUp"] = true;
    if (m.anonymous) mj["BerthAnonymous"] = true;
    mounts.push_back(mj);
  }
  j["MountPoints"] = mounts;
  j["Config"] = to_json(c.config);
  j["HostConfig"] = to_json(c.host_config);
  return j;
}

Result<Container> container_from_json(const Json& j) {
  return read_boundary([&] {
    ObjectReader r(j, "");
    Container c;
    c.id = r.str("Id");
    c.created = r.str("Created");
    c.path = r.str("Path");
    c.args = r.strings("Args");
    auto s = r.object("State");
    c.state.status = s.str("Status", "created");
    c.state.running = s.boolean("Running");
    c.state.paused = s.boolean("Paused");
    c.state.restarting = s.boolean("Restarting");
    c.state.oom_killed = s.boolean("OOMKilled");
    c.state.dead = s.boolean("Dead");
    c.state.pid = static_cast<int>(s.int64("Pid"));
    c.state.exit_code = static_cast<int>(s.int64("ExitCode"));
    c.state.error = s.str("Error");
    c.state.started_at = s.str("StartedAt", std::string(kZeroTime));
    c.state.finished_at = s.str("FinishedAt", std::string(kZeroTime));
    if (s.has("Health")) {
      auto h = s.object("Health");
      HealthState hs;
      hs.status = h.str("Status", kHealthStarting);
      hs.failing_streak = static_cast<int>(h.int64("FailingStreak"));
      for (auto& l : h.objects("Log"))
        hs.log.push_back({l.str("Start"), l.str("End"), static_cast<int>(l.int64("ExitCode")), l.str("Output")});
      c.state.health = std::move(hs);
    }
    c.image = r.str("Image");
    c.resolv_conf_path = r.str("ResolvConfPath");
    c.hostname_path = r.str("HostnamePath");
    c.hosts_path = r.str("HostsPath");
    c.log_path = r.str("LogPath");
    c.name = r.str("Name");
    c.restart_count = static_cast<int>(r.int64("RestartCount"));
    c.manually_stopped = r.boolean("HasBeenManuallyStopped");
    for (auto& m : r.objects("MountPoints")) {
      MountPoint mp;
      mp.type = m.str("Type");
      mp.name = m.str("Name");
      mp.source = m.str("Source");
      mp.destination = m.str("Destination");
      mp.driver = m.str("Driver");
      mp.mode = m.str("Mode");
      mp.rw = m.boolean("RW", true);
      mp.propagation = m.str("Propagation");
      mp.tmpfs_options = m.str("BerthTmpfsOptions");
      mp.copy_up = m.boolean("BerthCopyUp");
      mp.anonymous = m.boolean("BerthAnonymous");
      c.mounts.push_back(mp);
    }
    auto cfg = parse_container_config(r.get("Config") ? *r.get("Config") : Json(nullptr), "Config");
    if (!cfg) throw JsonFieldError("Config", cfg.error().message);
    c.config = std::move(*cfg);
    auto host = parse_host_config(r.get("HostConfig") ? *r.get("HostConfig") : Json(nullptr), "HostConfig");
    if (!host) throw JsonFieldError("HostConfig", host.error().message);
    c.host_config = std::move(*host);
    if (c.id.empty()) throw JsonFieldError("Id", "required");
    return c;
  });
}

std::string status_text(const ContainerState& s, int64_t now) {
  auto since = [&](const std::string& t) {
    auto ns = parse_time_ns(t).value_or(now);
    return human_duration(std::chrono::nanoseconds(std::max<int64_t>(0, now - ns)));
  };
  if (s.status == "removing") return "Removal In Progress";
  if (s.dead || s.status == "dead") return "Dead";
  if (s.restarting) return "Restarting (" + std::to_string(s.exit_code) + ") " + since(s.finished_at) + " ago";
  if (s.running && s.paused) return "Up " + since(s.started_at) + " (Paused)";
  if (s.running && s.health) return "Up " + since(s.started_at) + " (" + health_summary(s.health->status) + ")";
  if (s.running) return "Up " + since(s.started_at);
  if (s.started_at == kZeroTime) return "Created";
  return "Exited (" + std::to_string(s.exit_code) + ") " + since(s.finished_at) + " ago";
}

}  // namespace berth::agent
