// GET /images/{name}/history, POST /images/{name}/tag, DELETE /images/{name},
// POST /images/prune: `docker history`, `docker tag`, `docker rmi`, `docker image prune`, with
// dockerd's shapes, status codes and events (tag; untag and delete carry the image id).
#include "agent.h"
#include "core/filters.h"
#include "core/ids.h"
#include "image/reference.h"
#include "routes.h"

namespace berth::agent {

namespace {

Json delete_items_json(const std::vector<image::DeleteItem>& items) {
  Json out = Json::array();
  for (const auto& i : items) out.push_back(i.untagged.empty() ? Json{{"Deleted", i.deleted}} : Json{{"Untagged", i.untagged}});
  return out;
}

// The events dockerd logs for one removal: an untag per Untagged item, a delete at the end.
void publish_removal(Agent& agent, const image::RemoveReport& r) {
  for (const auto& i : r.items)
    if (!i.untagged.empty()) agent.image_event("untag", r.id);
  if (r.deleted) agent.image_event("delete", r.id);
}

Status history(Agent& agent, http::Request& req, http::Response& res) {
  auto entries = BERTH_TRY(agent.images().history(req.param("name")));
  Json out = Json::array();
  for (const auto& e : entries)
    out.push_back({{"Id", e.id},
                   {"Created", e.created},
                   {"CreatedBy", e.created_by},
                   {"Tags", e.tags.empty() ? Json(nullptr) : Json(e.tags)},
                   {"Size", e.size},
                   {"Comment", e.comment}});
  return res.json(200, out);
}

// dockerd's RepoTagReference: `repo` names the repository (a tag in it is replaced by `tag`
// when that is given; ":latest" when neither says one); digests cannot be tagged.
Result<image::Reference> tag_target(const std::string& repo, const std::string& tag) {
  if (repo.empty()) return make_error(Errc::invalid_argument, "repository name must be given (repo)");
  auto ref = BERTH_TRY(image::parse_named(repo));
  if (ref.has_digest()) return make_error(Errc::invalid_argument, "cannot tag digested reference");
  if (!tag.empty()) {
    if (!image::validate_tag(tag)) return make_error(Errc::invalid_argument, "invalid tag format");
    ref.tag = tag;
  } else if (ref.tag.empty()) {
    ref.tag = "latest";
  }
  return ref;
}

Status tag(Agent& agent, http::Request& req, http::Response& res) {
  auto ref = BERTH_TRY(tag_target(req.query.get("repo"), req.query.get("tag")));
  auto id = BERTH_TRY(agent.images().tag(req.param("name"), ref.string()));
  agent.image_event("tag", id, {{"name", ref.familiar()}});
  return res.empty(201);
}

Status remove(Agent& agent, http::Request& req, http::Response& res) {
  auto in_use = [&agent](const std::string& id) { return agent.containers().image_user(id); };
  auto report = BERTH_TRY(agent.images().remove(req.param("name"), req.query.get_bool("force"), in_use));
  publish_removal(agent, report);
  return res.json(200, delete_items_json(report.items));
}

// dockerd's matchLabels for prune: every `label` must hold; the image is kept when every
// `label!` holds.
bool prune_labels_match(const Filters& f, const std::map<std::string, std::string>& labels) {
  if (!f.match_labels("label", labels)) return false;
  return !(f.has("label!") && f.match_labels("label!", labels));
}

Status prune(Agent& agent, http::Request& req, http::Response& res) {
  auto f = BERTH_TRY(Filters::parse(req.query.get("filters")));
  BERTH_TRY(f.validate({"dangling", "label", "label!", "until"}));
  image::PruneOptions options;
  options.dangling_only = BERTH_TRY(f.get_bool("dangling")).value_or(true);
  std::optional<int64_t> until_s;
  for (const auto& u : f.get("until")) until_s = BERTH_TRY(parse_timestamp_param(u, "until")) / 1000000000;
  options.match = [&](const image::ImageRecord& r) {
    if (until_s && r.created > *until_s) return false;
    return prune_labels_match(f, r.config.labels);
  };
  auto in_use = [&agent](const std::string& id) { return agent.containers().image_user(id); };
  auto report = BERTH_TRY(agent.images().prune(options, in_use));
  for (const auto& r : report.removed) publish_removal(agent, r);
  Event e;
  e.type = "image";
  e.action = "prune";
  e.attributes["reclaimed"] = std::to_string(report.space_reclaimed);
  agent.events().publish(std::move(e));
  return res.json(200, {{"ImagesDeleted", report.items.empty() ? Json(nullptr) : delete_items_json(report.items)},
                        {"SpaceReclaimed", report.space_reclaimed}});
}

}  // namespace

void register_image_ops_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("GET", "/images/{name*}/history", bind(history));
  router.add("POST", "/images/{name*}/tag", bind(tag));
  router.add("DELETE", "/images/{name*}", bind(remove));
  router.add("POST", "/images/prune", bind(prune));
}

}  // namespace berth::agent
