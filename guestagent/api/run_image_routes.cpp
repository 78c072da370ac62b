// The images endpoints `docker run`, `docker pull` and `docker load` need: POST /images/create
// (pull, with Docker's JSON progress stream), GET /images/json, GET /images/{name}/json,
// POST /images/load. The rest of the images API lives in images*.cpp.
#include <fnmatch.h>

#include <cmath>
#include <cstdio>

#include "agent.h"
#include "core/filters.h"
#include "core/ids.h"
#include "helpers.h"
#include "image/reference.h"
#include "routes.h"

namespace berth::agent {

namespace {

// Go's units.HumanSize: decimal units, four significant digits ("1.23MB").
std::string human_size(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  int i = 0;
  while (bytes >= 1000 && i < 5) {
    bytes /= 1000;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g%s", bytes, units[i]);
  return buf;
}

// A jsonmessage for one progress event, with the bar `docker pull` draws.
Json progress_json(const image::ProgressEvent& e) {
  Json j = {{"status", e.status}};
  if (!e.id.empty()) j["id"] = e.id;
  if (e.current >= 0) {
    Json detail = {{"current", e.current}};
    if (e.total > 0) detail["total"] = e.total;
    j["progressDetail"] = detail;
    if (e.total > 0) {
      int width = 50;
      int filled = static_cast<int>(std::min<double>(1.0, static_cast<double>(e.current) / static_cast<double>(e.total)) * width);
      std::string bar = "[" + std::string(static_cast<size_t>(filled), '=') + (filled < width ? ">" : "") +
                        std::string(static_cast<size_t>(std::max(0, width - filled - 1)), ' ') + "] ";
      j["progress"] = bar + human_size(static_cast<double>(e.current)) + "/" + human_size(static_cast<double>(e.total));
    }
  } else if (e.status == "Pulling fs layer" || e.status == "Waiting" || e.status == "Download complete" ||
             e.status == "Pull complete" || e.status == "Verifying Checksum" || e.status == "Already exists") {
    j["progressDetail"] = Json::object();
  }
  return j;
}

Json error_message(const Error& e) {
  return {{"errorDetail", {{"message", e.what()}}}, {"error", e.what()}};
}

Status create(Agent& agent, http::Request& req, http::Response& res) {
  std::string from = req.query.get("fromImage");
  if (!req.query.get("fromSrc").empty())
    return make_error(Errc::unsupported, "importing images (fromSrc) is not supported by berth yet");
  if (from.empty()) return make_error(Errc::invalid_argument, "fromImage must be set");
  std::string tag = req.query.get("tag");
  std::string ref = from;
  if (!tag.empty()) ref += (tag.rfind("sha256:", 0) == 0 ? "@" : ":") + tag;
  auto parsed = BERTH_TRY(image::parse_reference(ref));
  image::PullOptions po;
  if (std::string p = req.query.get("platform"); !p.empty()) {
    auto plat = image::parse_platform(p);
    if (!plat) return tl::unexpected(plat.error());
    po.platform = *plat;
  }
  auto auth = BERTH_TRY(image::decode_registry_auth(req.header("X-Registry-Auth")));
  // The stream starts with the first progress line; an error before that is a plain HTTP error
  // (the CLI then prints it as "Error response from daemon").
  bool started = false;
  Status stream_st;
  auto progress = [&](const image::ProgressEvent& e) {
    if (!stream_st) return;
    if (!started) {
      started = true;
      stream_st = res.begin_stream(200, "application/json");
      if (!stream_st) return;
    }
    stream_st = res.write(progress_json(e).dump() + "\n");
  };
  auto pulled = agent.images().pull(parsed.string(), auth, progress, po);
  if (!pulled) {
    if (!started) return tl::unexpected(pulled.error());
    (void)res.write(error_message(pulled.error()).dump() + "\n");
    return res.end_stream();
  }
  agent.image_event("pull", parsed.familiar());
  if (!started) BERTH_TRY(res.begin_stream(200, "application/json"));
  return res.end_stream();
}

bool reference_matches(const image::ImageRecord& r, const std::string& pattern) {
  for (const auto& t : r.repo_tags) {
    std::string repo = t.substr(0, t.rfind(':'));
    if (::fnmatch(pattern.c_str(), t.c_str(), 0) == 0 || ::fnmatch(pattern.c_str(), repo.c_str(), 0) == 0) return true;
  }
  for (const auto& d : r.repo_digests)
    if (::fnmatch(pattern.c_str(), d.c_str(), 0) == 0) return true;
  return false;
}

Status list(Agent& agent, http::Request& req, http::Response& res) {
  auto f = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(f.validate({"before", "dangling", "label", "reference", "since", "until"}));
  auto dangling = BERTH_TRY(f.get_bool("dangling"));
  auto images = BERTH_TRY(agent.images().list(dangling.value_or(false)));
  int64_t before = INT64_MAX, since = INT64_MIN;
  for (const auto& ref : f.get("before")) before = std::min(before, BERTH_TRY(agent.images().inspect(ref)).created);
  for (const auto& ref : f.get("since")) since = std::max(since, BERTH_TRY(agent.images().inspect(ref)).created);
  bool old_api = req.api_version() < http::ApiVersion{1, 44};
  Json out = Json::array();
  for (const auto& r : images) {
    // dangling=false hides only images without any reference (dockerd's list).
    if (dangling && !*dangling && r.repo_tags.empty() && r.repo_digests.empty()) continue;
    if (!f.match_labels("label", r.config.labels)) continue;
    if (r.created >= before || r.created <= since) continue;
    if (f.has("reference")) {
      bool hit = false;
      for (const auto& p : f.get("reference")) hit = hit || reference_matches(r, p);
      if (!hit) continue;
    }
    Json j = image_summary_json(r, old_api);
    if (!req.query.get_bool("digests") && old_api) j.erase("RepoDigests");
    out.push_back(j);
  }
  return res.json(200, out);
}

Status inspect(Agent& agent, http::Request& req, http::Response& res) {
  auto r = BERTH_TRY(agent.images().inspect(req.param("name")));
  const Json& raw = r.config.raw;
  Json config = raw.contains("config") && raw["config"].is_object() ? raw["config"] : Json::object();
  Json layers = Json::array();
  for (const auto& d : r.config.diff_ids) layers.push_back(d);
  Json j = {{"Id", r.id},
            {"RepoTags", r.repo_tags},
            {"RepoDigests", r.repo_digests},
            {"Parent", ""},
            {"Comment", raw.value("comment", "")},
            {"Created", r.config.created},
            {"DockerVersion", raw.value("docker_version", "")},
            {"Author", r.config.author},
            {"Config", config},
            {"Architecture", r.config.architecture},
            {"Os", r.config.os},
            {"Size", r.size},
            {"GraphDriver", {{"Name", "overlay2"}, {"Data", nullptr}}},
            {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
            {"Metadata", {{"LastTagTime", std::string(kZeroTime)}}}};
  if (!r.config.variant.empty()) j["Variant"] = r.config.variant;
  if (req.api_version() < http::ApiVersion{1, 44}) j["VirtualSize"] = r.size;
  return res.json(200, j);
}

Status load(Agent& agent, http::Request& req, http::Response& res) {
  bool quiet = req.query.get_bool("quiet");
  bool started = false;
  Status stream_st;
  auto begin = [&]() -> Status {
    if (started) return stream_st;
    started = true;
    stream_st = res.begin_stream(200, "application/json");
    return stream_st;
  };
  auto progress = [&](const image::ProgressEvent& e) {
    if (quiet || !begin()) return;
    stream_st = res.write(progress_json(e).dump() + "\n");
  };
  auto read = [&](void* buf, size_t n) -> Result<size_t> { return req.read_body_some(static_cast<char*>(buf), n); };
  auto loaded = agent.images().load(read, progress);
  if (!loaded) {
    if (!started) return tl::unexpected(loaded.error());
    (void)res.write(error_message(loaded.error()).dump() + "\n");
    return res.end_stream();
  }
  BERTH_TRY(begin());
  for (const auto& t : loaded->loaded_tags) {
    BERTH_TRY(res.write(Json{{"stream", "Loaded image: " + t + "\n"}}.dump() + "\n"));
    agent.image_event("load", t);
  }
  for (const auto& id : loaded->loaded_ids) {
    BERTH_TRY(res.write(Json{{"stream", "Loaded image ID: " + id + "\n"}}.dump() + "\n"));
    agent.image_event("load", id);
  }
  return res.end_stream();
}

}  // namespace

void register_run_image_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("POST", "/images/create", bind(create));
  router.add("GET", "/images/json", bind(list));
  router.add("GET", "/images/{name*}/json", bind(inspect));
  router.add("POST", "/images/load", bind(load));
}

}  // namespace berth::agent
