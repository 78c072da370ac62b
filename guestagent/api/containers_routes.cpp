// Containers: create, list, inspect, start/stop/restart/kill, pause/unpause, rename, resize,
// remove.
#include <algorithm>
#include <regex>

#include "agent.h"
#include "core/filters.h"
#include "core/ids.h"
#include "helpers.h"
#include "routes.h"

namespace berth::agent {

namespace {

Status create(Agent& agent, http::Request& req, http::Response& res) {
  auto body = BERTH_TRY(req.read_json());
  if (!req.query.get("platform").empty()) {
    std::string p = req.query.get("platform");
    if (p.rfind("linux", 0) != 0) return make_error(Errc::invalid_argument, "unsupported platform: " + p);
  }
  auto r = BERTH_TRY(agent.containers().create(req.query.get("name"), body));
  return res.json(201, {{"Id", r.id}, {"Warnings", r.warnings}});
}

const std::set<std::string> kStatuses = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};

Status list(Agent& agent, http::Request& req, http::Response& res) {
  auto filters = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(filters.validate({"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
                              "name", "network", "publish", "since", "status", "volume"}));
  for (const auto& s : filters.get("status"))
    if (!kStatuses.count(s)) return make_error(Errc::invalid_argument, "invalid filter 'status=" + s + "'");
  std::vector<int> exited;
  for (const auto& s : filters.get("exited")) {
    try {
      size_t pos = 0;
      exited.push_back(std::stoi(s, &pos));
      if (pos != s.size()) throw std::invalid_argument(s);
    } catch (const std::exception&) {
      return make_error(Errc::invalid_argument, "invalid filter 'exited=" + s + "'");
    }
  }
  for (const auto& h : filters.get("health"))
    if (h != "starting" && h != "healthy" && h != "unhealthy" && h != "none")
      return make_error(Errc::invalid_argument, "Unrecognised filter value for health: " + h);
  auto limit = BERTH_TRY(query_int(req, "limit"));
  bool all = req.query.get_bool("all") || (limit && *limit > 0) || filters.has("status") || filters.has("exited");

  auto containers = agent.containers().list();
  std::sort(containers.begin(), containers.end(), [](const Container& a, const Container& b) {
    return parse_time_ns(a.created).value_or(0) > parse_time_ns(b.created).value_or(0);
  });
  // before/since name containers; ancestor names images.
  int64_t before = INT64_MAX, since = INT64_MIN;
  for (const auto& ref : filters.get("before")) {
    auto c = BERTH_TRY(agent.containers().get(ref));
    before = std::min(before, parse_time_ns(c.created).value_or(0));
  }
  for (const auto& ref : filters.get("since")) {
    auto c = BERTH_TRY(agent.containers().get(ref));
    since = std::max(since, parse_time_ns(c.created).value_or(0));
  }
  std::set<std::string> ancestors;
  for (const auto& ref : filters.get("ancestor")) {
    if (auto img = agent.images().inspect(ref)) ancestors.insert(img->id);
    ancestors.insert(ref);
  }
  std::vector<std::regex> names;
  for (const auto& n : filters.get("name")) {
    try {
      names.emplace_back(n);
    } catch (const std::regex_error&) {
      return make_error(Errc::invalid_argument, "invalid filter 'name=" + n + "': not a regular expression");
    }
  }

  int64_t now = now_ns();
  Json out = Json::array();
  for (const auto& c : containers) {
    const auto& s = c.state;
    if (!all && !s.running) continue;
    if (!filters.match_prefix("id", c.id)) continue;
    if (!names.empty() && std::none_of(names.begin(), names.end(), [&](const std::regex& r) {
          return std::regex_search(c.name, r) || std::regex_search(c.name.substr(1), r);
        }))
      continue;
    if (!filters.match_labels("label", c.config.labels)) continue;
    if (!filters.match_exact("status", s.status)) continue;
    if (!exited.empty() && (s.running || s.status == "created" ||
                            std::find(exited.begin(), exited.end(), s.exit_code) == exited.end()))
      continue;
    if (!ancestors.empty() && !ancestors.count(c.image) && !ancestors.count(c.config.image)) continue;
    int64_t created = parse_time_ns(c.created).value_or(0);
    if (created >= before || created <= since) continue;
    if (filters.has("volume")) {
      bool hit = false;
      for (const auto& m : c.mounts)
        if (filters.match_exact("volume", m.name) && (!m.name.empty() || filters.match_exact("volume", m.destination))) hit = true;
      for (const auto& m : c.mounts)
        if (filters.match_exact("volume", m.destination)) hit = true;
      if (!hit) continue;
    }
    if (!filters.match_exact("network", c.host_config.network_mode)) continue;
    if (filters.has("health")) {
      // As dockerd: "none" until a container with a health check has started.
      std::string h = s.health ? s.health->status : "none";
      if (!filters.match_exact("health", h)) continue;
    }
    if (filters.has("is-task") && !filters.match_exact("is-task", "false")) continue;
    if (filters.has("publish") || filters.has("expose")) continue;  // no published ports yet
    out.push_back(list_json(c, now));
    if (limit && *limit > 0 && out.size() >= static_cast<size_t>(*limit)) break;
  }
  return res.json(200, out);
}

Status inspect(Agent& agent, http::Request& req, http::Response& res) {
  auto c = BERTH_TRY(agent.containers().get(req.param("id")));
  Json j = inspect_json(c, agent.containers().exec_ids(c.id), agent.options().state_root);
  if (req.query.get_bool("size")) {
    j["SizeRw"] = 0;
    j["SizeRootFs"] = 0;
  }
  return res.json(200, j);
}

Status start(Agent& agent, http::Request& req, http::Response& res) {
  if (!req.query.get("checkpoint").empty()) return make_error(Errc::unsupported, "checkpoints are not supported by berth");
  (void)req.read_body();  // old clients send a HostConfig, ignored since API 1.24
  bool started = BERTH_TRY(agent.containers().start(req.param("id")));
  return res.empty(started ? 204 : 304);
}

Result<std::optional<int>> stop_timeout(http::Request& req) {
  return query_int(req, "t");
}

Status stop(Agent& agent, http::Request& req, http::Response& res) {
  auto t = BERTH_TRY(stop_timeout(req));
  std::optional<std::string> sig;
  if (!req.query.get("signal").empty()) sig = req.query.get("signal");
  bool stopped = BERTH_TRY(agent.containers().stop(req.param("id"), t, sig));
  return res.empty(stopped ? 204 : 304);
}

Status restart(Agent& agent, http::Request& req, http::Response& res) {
  auto t = BERTH_TRY(stop_timeout(req));
  std::optional<std::string> sig;
  if (!req.query.get("signal").empty()) sig = req.query.get("signal");
  BERTH_TRY(agent.containers().restart(req.param("id"), t, sig));
  return res.empty(204);
}

Status kill(Agent& agent, http::Request& req, http::Response& res) {
  BERTH_TRY(agent.containers().kill(req.param("id"), req.query.get("signal")));
  return res.empty(204);
}

Status remove(Agent& agent, http::Request& req, http::Response& res) {
  if (req.query.get_bool("link")) return make_error(Errc::unsupported, "links are not supported by berth");
  BERTH_TRY(agent.containers().remove(req.param("id"), req.query.get_bool("force"), req.query.get_bool("v")));
  return res.empty(204);
}

Status resize(Agent& agent, http::Request& req, http::Response& res) {
  auto h = BERTH_TRY(query_int(req, "h"));
  auto w = BERTH_TRY(query_int(req, "w"));
  if (!h || !w || *h < 0 || *w < 0 || *h > 65535 || *w > 65535)
    return make_error(Errc::invalid_argument, "invalid resize request: h and w must be set to sizes between 0 and 65535");
  BERTH_TRY(agent.containers().resize(req.param("id"), *h, *w));
  return res.empty(200);
}

}  // namespace

void register_container_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("POST", "/containers/create", bind(create));
  router.add("GET", "/containers/json", bind(list));
  router.add("GET", "/containers/{id}/json", bind(inspect));
  router.add("POST", "/containers/{id}/start", bind(start));
  router.add("POST", "/containers/{id}/stop", bind(stop));
  router.add("POST", "/containers/{id}/restart", bind(restart));
  router.add("POST", "/containers/{id}/kill", bind(kill));
  router.add("DELETE", "/containers/{id}", bind(remove));
  router.add("POST", "/containers/{id}/resize", bind(resize));
  router.add("POST", "/containers/{id}/pause", [&agent](http::Request& req, http::Response& res) -> Status {
    BERTH_TRY(agent.containers().pause(req.param("id")));
    return res.empty(204);
  });
  router.add("POST", "/containers/{id}/unpause", [&agent](http::Request& req, http::Response& res) -> Status {
    BERTH_TRY(agent.containers().unpause(req.param("id")));
    return res.empty(204);
  });
  router.add("POST", "/containers/{id}/rename", [&agent](http::Request& req, http::Response& res) -> Status {
    BERTH_TRY(agent.containers().rename(req.param("id"), req.query.get("name")));
    return res.empty(204);
  });
}

}  // namespace berth::agent
