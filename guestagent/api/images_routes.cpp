// The images endpoints beyond what `docker run`/`docker load` need (history, tag, rmi, save,
// prune, system df, distribution) are added here by the images work; until then nothing is
// registered and those paths answer 404 "page not found". Routes registered here replace
// the same method+pattern registered by register_run_image_routes.
#include "http/router.h"
#include "routes.h"

namespace berth::agent {

void register_image_routes(http::Router& router, Agent& agent) {
  (void)router;
  (void)agent;
}

}  // namespace berth::agent
