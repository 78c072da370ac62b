// The images endpoints beyond what `docker run`/`docker load` need, one file per group:
// history, tag, rmi and prune (image_ops_routes.cpp), save (image_save_routes.cpp), system df
// (system_df_routes.cpp), distribution (distribution_routes.cpp). Routes registered here
// replace the same method+pattern registered by register_run_image_routes.
#include "http/router.h"
#include "routes.h"

namespace berth::agent {

void register_image_routes(http::Router& router, Agent& agent) {
  register_image_ops_routes(router, agent);
  register_image_save_routes(router, agent);
  register_system_df_routes(router, agent);
  register_distribution_routes(router, agent);
}

}  // namespace berth::agent
