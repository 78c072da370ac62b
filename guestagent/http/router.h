// Routes "METHOD /pattern" to handlers. Patterns are literal segments and parameters:
// "/containers/{id}/json"; one parameter per pattern may end in "*" to take several segments
// ("/images/{name*}/json", for image names with slashes). Paths arrive with or without a
// "/vX.Y" prefix, which the router checks against the supported range and strips.
//
// Adding a route whose method and pattern are already registered replaces the earlier handler:
// the images endpoints (api/images*.cpp) may take over routes registered before them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "request.h"
#include "response.h"

namespace berth::agent::http {

// A handler answers through `res`. If it returns an error before answering, the router sends
// it as Docker's JSON error with the status for its code; after a response has started, the
// connection is closed instead.
using Handler = std::function<Status(Request& req, Response& res)>;

class Router {
 public:
  void add(std::string_view method, std::string_view pattern, Handler handler);

  // Fills req.path, req.version and req.params and runs the handler, or answers 400 (bad
  // version), 404 (no route: dockerd's "page not found") or 405.
  void dispatch(Request& req, Response& res) const;

  struct Match {
    const Handler* handler = nullptr;
    std::map<std::string, std::string> params;
    bool path_known = false;  // some route has this path with another method
  };
  Match match(std::string_view method, std::string_view path) const;
  size_t size() const { return routes_.size(); }

 private:
  struct Segment {
    std::string text;  // literal, or the parameter name
    bool param = false;
    bool rest = false;  // parameter taking one or more segments
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };
  static bool match_route(const Route& r, const std::vector<std::string>& parts, std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
};

// "/a/b%2Fc/" → {"a", "b/c"}: split on "/" first, then percent-decode each segment, so an
// encoded slash stays inside its segment.
std::vector<std::string> split_path(std::string_view path);

}  // namespace berth::agent::http
