// Small pieces the handlers share: typed query parameters with Docker's 400s, the stream
// content types, and the JSON of a container as inspect and list show it.
#pragma once

#include <optional>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "core/container.h"
#include "http/request.h"
#include "image/image_store.h"

namespace berth::agent {

inline constexpr const char* kRawStream = "application/vnd.docker.raw-stream";
inline constexpr const char* kMultiplexedStream = "application/vnd.docker.multiplexed-stream";

// The content type of an attach/logs stream: raw with a TTY; multiplexed otherwise (API
// versions before 1.42 said raw-stream for both).
std::string stream_content_type(bool tty, const http::Request& req);

// An integer query parameter; Errc::invalid_argument naming it when malformed.
Result<std::optional<int>> query_int(const http::Request& req, const std::string& key);

// GET /containers/{id}/json.
Json inspect_json(const Container& c, const std::vector<std::string>& exec_ids, const std::string& state_root);
// One element of GET /containers/json.
Json list_json(const Container& c, int64_t now_ns);
Json network_settings_json(const Container& c);

// One element of GET /images/json (and of /system/df's Images). Containers is -1 (not
// counted) unless the caller fills it in.
Json image_summary_json(const image::ImageRecord& r, bool old_api);

}  // namespace berth::agent
