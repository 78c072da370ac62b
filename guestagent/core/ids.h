// Container and exec ids, container names, and Docker's time formats.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent {

using Clock = std::chrono::system_clock;

// 64 lowercase hex digits from getrandom(2), never all-digit (Docker avoids ids that look
// like numbers, which some tools mistake for integers).
std::string new_id();
std::string short_id(std::string_view id);  // first 12 characters

// Docker's container name rule: /?[a-zA-Z0-9][a-zA-Z0-9_.-]+
bool valid_container_name(std::string_view name);
// "adjective_scientist", like dockerd's generated names (berth's own word lists).
std::string random_name(int attempt = 0);

// RFC 3339 with nine fractional digits in UTC: "2024-05-01T10:00:00.123456789Z".
std::string format_time(Clock::time_point t);
std::string now_string();
// Zero time as Docker writes it for "never".
inline constexpr std::string_view kZeroTime = "0001-01-01T00:00:00Z";
// Parses RFC 3339 with optional fraction and Z or ±hh:mm; nanoseconds since the epoch.
std::optional<int64_t> parse_time_ns(std::string_view text);
int64_t to_ns(Clock::time_point t);
int64_t now_ns();
// Docker's `since`/`until` query values: "1700000000", "1700000000.5", RFC 3339, or a Go
// duration before now ("10m", "1h30m"), as dockerd's timetypes.GetTimestamp reads them.
Result<int64_t> parse_timestamp_param(std::string_view text, std::string_view name);
// Go's time.ParseDuration ("1h30m", "1.5s", "-10m", "300ms"), in nanoseconds.
std::optional<int64_t> parse_go_duration(std::string_view text);

// Go's units.HumanDuration: "Less than a second", "About a minute", "5 hours", "3 weeks", …
std::string human_duration(std::chrono::nanoseconds d);

}  // namespace berth::agent
