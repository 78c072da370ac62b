// Sizes as users write them: "2G", "2GiB", "512MiB", "1.5G", "1073741824".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::instance {

// K/M/G/T with an optional "B" or "iB", any case, are binary units (as for RAM and disk
// sizes in QEMU, Docker and Lima); a bare number is bytes. `what` names the value in errors
// ("--memory").
Result<uint64_t> parse_size(std::string_view text, std::string_view what);

// The largest binary unit that divides the size exactly: "2GiB", "1536MiB", "100B".
std::string format_size(uint64_t bytes);

}  // namespace berth::instance
