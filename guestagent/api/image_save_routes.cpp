// GET /images/{name}/get and GET /images/get?names=…: `docker save`, streamed as the store
// writes it (never held in memory). The response starts with the first archive byte, so an
// unknown name is still a plain 404; a failure later cuts the stream off (the client sees a
// truncated transfer rather than a complete-looking archive).
#include "agent.h"
#include "routes.h"

namespace berth::agent {

namespace {

Status save(Agent& agent, const std::vector<std::string>& names, http::Response& res) {
  if (names.empty()) return make_error(Errc::invalid_argument, "no images to save: give at least one name");
  auto write = [&res](const void* data, size_t size) -> Status {
    if (!res.started()) BERTH_TRY(res.begin_stream(200, "application/x-tar"));
    return res.write(std::string_view(static_cast<const char*>(data), size));
  };
  auto ids = BERTH_TRY(agent.images().save(names, write));
  if (!res.started()) BERTH_TRY(res.begin_stream(200, "application/x-tar"));
  for (const auto& id : ids) agent.image_event("save", id);
  return res.end_stream();
}

}  // namespace

void register_image_save_routes(http::Router& router, Agent& agent) {
  router.add("GET", "/images/{name*}/get",
             [&agent](http::Request& req, http::Response& res) { return save(agent, {req.param("name")}, res); });
  router.add("GET", "/images/get",
             [&agent](http::Request& req, http::Response& res) { return save(agent, req.query.get_all("names"), res); });
}

}  // namespace berth::agent
