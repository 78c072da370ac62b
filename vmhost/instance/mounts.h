// Host folders shared into the VM: `--mount PATH[:rw|ro]`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"

namespace berth::instance {

struct Mount {
  std::string path;  // absolute, normalized; the same path inside the guest
  bool writable = true;

  bool operator==(const Mount&) const = default;
};

// "PATH", "PATH:rw" or "PATH:ro". A relative PATH is taken relative to `cwd`. The path
// ends up on the guest kernel's command line, where spaces can be quoted but double quotes,
// control characters (and backslashes, which virtiofsd's option syntax eats) cannot: those
// are refused.
Result<Mount> parse_mount(std::string_view spec, const std::string& cwd);

// The path must be an existing directory (checked at start, not when a config is read,
// so that a config stays loadable while a folder is gone).
Status check_mount_source(const Mount& mount);

// Rejects the same path listed twice.
Status check_mount_list(const std::vector<Mount>& mounts);

std::string format_mount(const Mount& mount);  // "PATH:rw" / "PATH:ro"

}  // namespace berth::instance
