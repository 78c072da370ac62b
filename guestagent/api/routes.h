// The Docker Engine API routes, one registration function per group. Agent::create calls
// them in this order; register_image_routes (api/images*.cpp, the images endpoints) runs last
// and may replace routes registered before it (Router::add replaces same method+pattern).
#pragma once

#include "berth/common/result.h"

namespace berth::agent {

namespace http {
class Router;
class Request;
class Response;
}  // namespace http
class Agent;

// The handlers are free functions of the agent; `auto bind = handler_binder(agent);` then
// `router.add(method, pattern, bind(fn))` gives the Router a handler of each.
using AgentHandler = Status (*)(Agent&, http::Request&, http::Response&);
inline auto handler_binder(Agent& agent) {
  return [&agent](AgentHandler fn) {
    return [&agent, fn](http::Request& req, http::Response& res) { return fn(agent, req, res); };
  };
}

void register_system_routes(http::Router& router, Agent& agent);      // _ping, version, info, events
void register_container_routes(http::Router& router, Agent& agent);   // create, list, inspect, lifecycle
void register_container_stream_routes(http::Router& router, Agent& agent);  // attach, logs, wait, stats
void register_container_file_routes(http::Router& router, Agent& agent);    // archive, export, top, prune
void register_exec_routes(http::Router& router, Agent& agent);
void register_volume_routes(http::Router& router, Agent& agent);
// What `docker run` and `docker load` need from the images API: pull, list, inspect, load.
void register_run_image_routes(http::Router& router, Agent& agent);
// The rest of the images API (history, tag, rmi, save, prune, df, distribution): images_routes.cpp
// calls the four below.
void register_image_routes(http::Router& router, Agent& agent);
void register_image_ops_routes(http::Router& router, Agent& agent);     // history, tag, rmi, prune
void register_image_save_routes(http::Router& router, Agent& agent);    // save
void register_system_df_routes(http::Router& router, Agent& agent);     // system df
void register_distribution_routes(http::Router& router, Agent& agent);  // distribution inspect

}  // namespace berth::agent
