// Capability names ↔ numbers (libcap), as bit masks for the init plan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::runtime {

// The highest capability the running kernel knows.
int last_capability();
// Parses names like "CAP_NET_ADMIN" (case-insensitive) into a mask; errors name `field`.
Result<uint64_t> capability_mask(const std::vector<std::string>& names, const std::string& field);
std::vector<std::string> all_capability_names();

}  // namespace berth::runtime
