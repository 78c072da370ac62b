// Timestamps as Docker writes them: RFC 3339 in UTC with exactly nine fractional digits.
#pragma once

#include <time.h>

#include <string>

namespace berth::shim {

// "2026-11-21T23:51:26.123456789Z"
std::string rfc3339_nano(const struct timespec& t);
// Now, from CLOCK_REALTIME.
struct timespec wall_now();
// CLOCK_MONOTONIC in milliseconds: for deadlines that must not jump with the wall clock.
int64_t monotonic_ms();

}  // namespace berth::shim
