#include "router.h"

#include "berth/common/log.h"
#include "query.h"
#include "status.h"

namespace berth::agent::http {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > pos) parts.push_back(url_decode(path.substr(pos, slash - pos), false));
    pos = slash + 1;
  }
  return parts;
}

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  Route r;
  r.method = std::string(method);
  r.pattern = std::string(pattern);
  size_t pos = 0;
  while (pos < pattern.size()) {
    size_t slash = pattern.find('/', pos);
    if (slash == std::string_view::npos) slash = pattern.size();
    if (slash > pos) {
      std::string_view s = pattern.substr(pos, slash - pos);
      Segment seg;
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        seg.param = true;
        s = s.substr(1, s.size() - 2);
        if (s.back() == '*') {
          seg.rest = true;
          s.remove_suffix(1);
        }
      }
      seg.text = std::string(s);
      r.segments.push_back(std::move(seg));
    }
    pos = slash + 1;
  }
  r.handler = std::move(handler);
  for (auto& existing : routes_) {
    if (existing.method == r.method && existing.pattern == r.pattern) {
      existing = std::move(r);
      return;
    }
  }
  routes_.push_back(std::move(r));
}

bool Router::match_route(const Route& r, const std::vector<std::string>& parts, std::map<std::string, std::string>& params) {
  size_t rest_at = r.segments.size();
  for (size_t i = 0; i < r.segments.size(); ++i)
    if (r.segments[i].rest) rest_at = i;
  if (rest_at == r.segments.size()) {
    if (parts.size() != r.segments.size()) return false;
  } else if (parts.size() < r.segments.size()) {
    return false;
  }
  size_t extra = parts.size() - r.segments.size();  // segments the rest parameter absorbs beyond one
  std::map<std::string, std::string> out;
  size_t pi = 0;
  for (size_t i = 0; i < r.segments.size(); ++i) {
    const auto& seg = r.segments[i];
    if (seg.rest) {
      std::string joined;
      for (size_t k = 0; k <= extra; ++k) {
        if (k) joined += "/";
        joined += parts[pi++];
      }
      out[seg.text] = joined;
    } else if (seg.param) {
      out[seg.text] = parts[pi++];
    } else if (parts[pi++] != seg.text) {
      return false;
    }
  }
  params = std::move(out);
  return true;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  auto parts = split_path(path);
  std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  // An exact-method route wins over GET standing in for HEAD.
  for (int pass = 0; pass < 2; ++pass) {
    std::string_view mth = pass == 0 ? method : want;
    if (pass == 1 && mth == method) break;
    for (const auto& r : routes_) {
      std::map<std::string, std::string> params;
      if (!match_route(r, parts, params)) continue;
      if (r.method != mth) {
        m.path_known = true;
        continue;
      }
      m.handler = &r.handler;
      m.params = std::move(params);
      return m;
    }
  }
  return m;
}

void Router::dispatch(Request& req, Response& res) const {
  std::string_view target = req.target;
  std::string_view raw_path = target.substr(0, target.find('?'));
  if (target.find('?') != std::string_view::npos) req.query = Query::parse(target.substr(target.find('?') + 1));
  auto split = split_versioned_path(raw_path);
  if (!split) {
    (void)res.error(400, split.error().message);
    return;
  }
  req.version = split->version;
  req.path = url_decode(split->path, false);
  auto m = match(req.method, split->path);
  if (!m.handler) {
    if (m.path_known) {
      (void)res.error(405, "method not allowed");
    } else {
      (void)res.error(404, "page not found");
    }
    return;
  }
  req.params = std::move(m.params);
  Status st;
  try {
    st = (*m.handler)(req, res);
  } catch (const JsonFieldError& e) {
    st = make_error(Errc::invalid_argument, e.message);
  } catch (const Json::exception& e) {
    st = make_error(Errc::invalid_argument, e.what());
  } catch (const std::exception& e) {
    st = make_error(Errc::internal, e.what());
  }
  if (st) {
    if (!res.started()) (void)res.error(500, "handler did not answer");
    return;
  }
  if (!res.started()) {
    (void)res.error(st.error());
  } else {
    log::get("agent")->warn("{} {}: {}", req.method, req.path, st.error().what());
    res.force_close();
  }
}

}  // namespace berth::agent::http
