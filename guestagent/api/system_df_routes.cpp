// GET /system/df: `docker system df` (and -v). Images with their shared and unique sizes and
// the number of containers using them, containers with the size of their writable layer,
// volumes with their size and users, no build cache (berth has no builder).
#include <set>

#include "agent.h"
#include "core/ids.h"
#include "helpers.h"
#include "image/safe_fs.h"
#include "routes.h"

namespace berth::agent {

namespace {

int64_t rw_size(Agent& agent, const std::string& id) {
  auto upper = image::safefs::open_dir_path(agent.containers().container_dir(id) + "/upper");
  if (!upper) return 0;
  return static_cast<int64_t>(image::safefs::disk_usage(upper->get()).value_or(0));
}

Status system_df(Agent& agent, http::Request& req, http::Response& res) {
  bool images = true, containers = true, volumes = true;
  // Since API 1.42 `type` (repeatable) limits the answer to some kinds of objects.
  auto types = req.query.get_all("type");
  if (req.api_version() >= http::ApiVersion{1, 42} && !types.empty()) {
    images = containers = volumes = false;
    for (const auto& t : types) {
      if (t == "image") images = true;
      else if (t == "container") containers = true;
      else if (t == "volume") volumes = true;
      else if (t != "build-cache") return make_error(Errc::invalid_argument, "unknown object type: " + t);
    }
  }
  auto all_containers = agent.containers().list();
  Json out = {{"BuildCache", Json::array()}};
  bool old_api = req.api_version() < http::ApiVersion{1, 44};
  if (images) {
    auto du = BERTH_TRY(agent.images().disk_usage());
    std::map<std::string, const image::DiskUsage::Image*> usage;
    for (const auto& i : du.images) usage[i.id] = &i;
    std::map<std::string, int> users;
    for (const auto& c : all_containers) ++users[c.image];
    Json list = Json::array();
    for (const auto& r : BERTH_TRY(agent.images().list())) {
      Json j = image_summary_json(r, old_api);
      auto it = usage.find(r.id);
      j["SharedSize"] = it == usage.end() ? 0 : it->second->shared_size;
      j["Containers"] = users[r.id];
      list.push_back(std::move(j));
    }
    out["LayersSize"] = du.layers_size;
    out["Images"] = list;
  }
  if (containers) {
    std::map<std::string, int64_t> image_sizes;
    for (const auto& r : agent.images().list().value_or(std::vector<image::ImageRecord>{})) image_sizes[r.id] = r.size;
    Json list = Json::array();
    int64_t now = now_ns();
    for (const auto& c : all_containers) {
      Json j = list_json(c, now);
      int64_t rw = rw_size(agent, c.id);
      if (rw > 0) j["SizeRw"] = rw;
      j["SizeRootFs"] = rw + image_sizes[c.image];
      list.push_back(std::move(j));
    }
    out["Containers"] = list;
  }
  if (volumes) {
    Json list = Json::array();
    for (const auto& v : agent.volumes().list()) {
      auto users = agent.containers().volume_users(v.name);
      list.push_back(to_json(v, agent.volumes().size(v.name), static_cast<int64_t>(users.size())));
    }
    out["Volumes"] = list;
  }
  return res.json(200, out);
}

}  // namespace

void register_system_df_routes(http::Router& router, Agent& agent) {
  router.add("GET", "/system/df", [&agent](http::Request& req, http::Response& res) { return system_df(agent, req, res); });
}

}  // namespace berth::agent
