// A parsed request as handlers see it: method, unversioned path, route parameters, query,
// headers, and a body they read on demand (whole for JSON, in pieces for uploads).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api_version.h"
#include "berth/common/json.h"
#include "berth/common/result.h"
#include "query.h"

namespace berth::agent::http {

class Connection;

// JSON request bodies larger than this are refused (uploads stream and are not bounded here).
inline constexpr size_t kMaxJsonBody = 16 * 1024 * 1024;

class Request {
 public:
  std::string method;
  std::string target;                 // as received: "/v1.47/containers/json?all=1"
  std::string path;                   // decoded, without the version: "/containers/json"
  std::optional<ApiVersion> version;  // from the path; absent when unversioned
  std::map<std::string, std::string> params;  // route parameters: {id} → "abc"
  Query query;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;
  bool has_body = false;

  // The version the client speaks: its path's, or the newest one.
  ApiVersion api_version() const { return version.value_or(kMaxApiVersion); }
  // Case-insensitive; "" when absent.
  std::string header(std::string_view name) const;
  std::string param(const std::string& name) const;
  // `Connection: Upgrade` with `Upgrade: tcp`: the client wants 101 before a raw stream.
  bool wants_upgrade() const;

  // The whole body; Errc::invalid_argument beyond `limit`.
  Result<std::string> read_body(size_t limit = kMaxJsonBody);
  // Some of the body; 0 at its end.
  Result<size_t> read_body_some(char* buf, size_t size);
  // The body parsed as JSON: null when empty, Errc::invalid_argument when malformed.
  Result<Json> read_json();

  // For tests and the server; handlers do not call it.
  void attach(Connection* conn) { conn_ = conn; }

 private:
  Connection* conn_ = nullptr;
};

}  // namespace berth::agent::http
