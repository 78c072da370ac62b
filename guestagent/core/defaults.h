// Docker's defaults for containers: the capability set, masked and read-only /proc and /sys
// paths, device cgroup rules. Kept apart from the spec builder so tests can name them.
#pragma once

#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent {

// The 14 capabilities Docker grants unprivileged containers.
const std::vector<std::string>& default_capabilities();
// Every capability the running kernel knows (cap_last_cap), "CAP_…" names.
std::vector<std::string> all_capabilities();
// "chown", "cap_chown", "CAP_CHOWN" → "CAP_CHOWN"; "ALL" stays "ALL". Unknown names are
// Errc::invalid_argument: unknown capability: "CAP_FOO".
Result<std::string> normalize_capability(const std::string& name);
// dockerd's TweakCapabilities: defaults (or all with CapAdd ALL / privileged) minus CapDrop
// (everything with ALL) plus CapAdd. Sorted.
Result<std::vector<std::string>> effective_capabilities(const std::vector<std::string>& cap_add,
                                                        const std::vector<std::string>& cap_drop, bool privileged);

const std::vector<std::string>& default_masked_paths();
const std::vector<std::string>& default_readonly_paths();

}  // namespace berth::agent
