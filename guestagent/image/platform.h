// Platforms (os/architecture/variant) in the normalised form containerd and Docker compare.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent::image {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;

  // "linux/arm64/v8", "linux/amd64".
  std::string string() const;
  bool operator==(const Platform&) const = default;
};

// Aliases folded: x86_64 → amd64, aarch64 → arm64 (variant v8), armhf → arm/v7, i386 → 386.
Platform normalize(Platform p);
// "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux).
Result<Platform> parse_platform(std::string_view text);
// The agent's own platform, from uname(2).
Platform host_platform();
// Whether an image built for `have` runs where `want` is asked for. An empty variant in `want`
// accepts any variant.
bool platform_matches(const Platform& want, const Platform& have);
// The best match in `candidates` (exact variant preferred), or -1.
int select_platform(const Platform& want, const std::vector<Platform>& candidates);

Platform platform_from_json(const Json& j, const std::string& path);
Json platform_to_json(const Platform& p);

}  // namespace berth::agent::image
