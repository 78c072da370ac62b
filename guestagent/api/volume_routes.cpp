// Volumes with the local driver: create, list, inspect, remove, prune.
#include "agent.h"
#include "core/filters.h"
#include "core/json_reader.h"
#include "routes.h"

namespace berth::agent {

namespace {

void publish(Agent& agent, const std::string& action, const std::string& name) {
  Event e;
  e.type = "volume";
  e.action = action;
  e.id = name;
  e.attributes["driver"] = "local";
  agent.events().publish(std::move(e));
}

Status create(Agent& agent, http::Request& req, http::Response& res) {
  auto body = BERTH_TRY(req.read_json());
  std::string name, driver;
  std::map<std::string, std::string> labels, opts;
  BERTH_TRY(read_boundary([&] {
    ObjectReader r(body, "");
    name = r.str("Name");
    driver = r.str("Driver", "local");
    labels = r.string_map("Labels");
    opts = r.string_map("DriverOpts");
  }));
  if (!driver.empty() && driver != "local")
    return make_error(Errc::not_found, "error looking up volume plugin " + driver + ": plugin \"" + driver + "\" not found");
  bool existed = !name.empty() && agent.volumes().get(name).has_value();
  auto v = BERTH_TRY(agent.volumes().create(name, labels, opts));
  if (!existed) publish(agent, "create", v.name);
  return res.json(201, to_json(v));
}

Status list(Agent& agent, http::Request& req, http::Response& res) {
  auto f = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(f.validate({"name", "driver", "label", "dangling"}));
  auto dangling = BERTH_TRY(f.get_bool("dangling"));
  Json vols = Json::array();
  for (const auto& v : agent.volumes().list()) {
    if (f.has("name")) {
      bool hit = false;
      for (const auto& n : f.get("name"))
        if (v.name.find(n) != std::string::npos) hit = true;
      if (!hit) continue;
    }
    if (!f.match_exact("driver", v.driver)) continue;
    if (!f.match_labels("label", v.labels)) continue;
    if (dangling && *dangling != agent.containers().volume_users(v.name).empty()) continue;
    vols.push_back(to_json(v));
  }
  return res.json(200, {{"Volumes", vols}, {"Warnings", Json::array()}});
}

Status inspect(Agent& agent, http::Request& req, http::Response& res) {
  auto v = BERTH_TRY(agent.volumes().get(req.param("name")));
  return res.json(200, to_json(v));
}

Status remove(Agent& agent, http::Request& req, http::Response& res) {
  std::string name = req.param("name");
  auto users = agent.containers().volume_users(name);
  auto st = agent.volumes().remove(name, users);
  if (!st) {
    if (st.error().code == Errc::not_found && req.query.get_bool("force")) return res.empty(204);
    return tl::unexpected(st.error());
  }
  publish(agent, "destroy", name);
  return res.empty(204);
}

Status prune(Agent& agent, http::Request& req, http::Response& res) {
  auto f = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(f.validate({"label", "label!", "all"}));
  auto all = BERTH_TRY(f.get_bool("all"));
  Json deleted = Json::array();
  uint64_t space = 0;
  for (const auto& v : agent.volumes().list()) {
    // Since API 1.42 only anonymous volumes, unless all=true.
    if (!all.value_or(req.api_version() < http::ApiVersion{1, 42}) && !v.anonymous()) continue;
    if (!f.match_labels("label", v.labels)) continue;
    bool excluded = false;
    for (const auto& l : f.get("label!")) {
      auto eq = l.find('=');
      auto it = v.labels.find(l.substr(0, eq));
      if (it != v.labels.end() && (eq == std::string::npos || it->second == l.substr(eq + 1))) excluded = true;
    }
    if (excluded) continue;
    if (!agent.containers().volume_users(v.name).empty()) continue;
    int64_t size = agent.volumes().size(v.name);
    if (agent.volumes().remove(v.name, {})) {
      deleted.push_back(v.name);
      if (size > 0) space += static_cast<uint64_t>(size);
      publish(agent, "destroy", v.name);
    }
  }
  return res.json(200, {{"VolumesDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", space}});
}

}  // namespace

void register_volume_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("POST", "/volumes/create", bind(create));
  router.add("GET", "/volumes", bind(list));
  router.add("GET", "/volumes/{name}", bind(inspect));
  router.add("DELETE", "/volumes/{name}", bind(remove));
  router.add("POST", "/volumes/prune", bind(prune));
}

}  // namespace berth::agent
