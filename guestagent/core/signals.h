// Signal names as Docker accepts them: "SIGTERM", "TERM", "term", "15".
#pragma once

#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent {

// Errc::invalid_argument "Invalid signal: …" otherwise.
Result<int> parse_signal(std::string_view text);
std::string signal_name(int sig);  // "SIGTERM"

}  // namespace berth::agent
