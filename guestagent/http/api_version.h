// Docker Engine API versions: "/v1.47/containers/json" names the version a client speaks.
// The agent implements kMaxApiVersion and accepts clients down to kMinApiVersion, as dockerd
// does with its own range.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent::http {

struct ApiVersion {
  int major = 1;
  int minor = 47;

  auto operator<=>(const ApiVersion&) const = default;
  std::string str() const { return std::to_string(major) + "." + std::to_string(minor); }
};

inline constexpr ApiVersion kMaxApiVersion{1, 47};
inline constexpr ApiVersion kMinApiVersion{1, 24};

// "1.47" → {1,47}; nullopt for anything else ("1", "1.x", "v1.2").
std::optional<ApiVersion> parse_api_version(std::string_view text);

struct VersionedPath {
  std::optional<ApiVersion> version;  // absent for unversioned paths
  std::string path;                   // the rest, starting with "/"
};

// Splits "/v1.41/containers/json" into {1.41, "/containers/json"}; "/containers/json" has no
// version. A version outside [kMinApiVersion, kMaxApiVersion] is Errc::invalid_argument with
// dockerd's wording; a "/v…" segment that is not a version is left in the path (404 later).
Result<VersionedPath> split_versioned_path(std::string_view path);

}  // namespace berth::agent::http
