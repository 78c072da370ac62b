// GET /distribution/{name}/json: the registry's descriptor of an image's manifest (or index)
// and the platforms it offers, without pulling (dockerd's getDistributionInfo).
#include "agent.h"
#include "image/platform.h"
#include "routes.h"

namespace berth::agent {

namespace {

Status distribution(Agent& agent, http::Request& req, http::Response& res) {
  // As dockerd: credentials that do not decode are ignored (the lookup goes anonymous).
  auto auth = image::decode_registry_auth(req.header("X-Registry-Auth")).value_or(image::RegistryAuth{});
  auto info = BERTH_TRY(agent.images().distribution(req.param("name"), auth));
  Json platforms = Json::array();
  for (const auto& p : info.platforms) platforms.push_back(image::platform_to_json(p));
  return res.json(200, {{"Descriptor", {{"mediaType", info.media_type}, {"digest", info.digest}, {"size", info.size}}},
                        {"Platforms", platforms.empty() ? Json(nullptr) : platforms}});
}

}  // namespace

void register_distribution_routes(http::Router& router, Agent& agent) {
  router.add("GET", "/distribution/{name*}/json",
             [&agent](http::Request& req, http::Response& res) { return distribution(agent, req, res); });
}

}  // namespace berth::agent
