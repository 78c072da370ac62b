#include "init/clock.h"

#include <time.h>

namespace berth::agent::init {

namespace {
int64_t now_nanos(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

Result<int64_t> set_clock_unix_nanos(int64_t unix_nanos) {
  if (unix_nanos <= 0) return make_error(Errc::invalid_argument, "time must be a positive number of nanoseconds");
  int64_t before = now_nanos(CLOCK_REALTIME);
  timespec ts{static_cast<time_t>(unix_nanos / 1000000000), static_cast<long>(unix_nanos % 1000000000)};
  if (::clock_settime(CLOCK_REALTIME, &ts) < 0) return sys_error("clock_settime");
  return (unix_nanos - before) / 1000000;
}

Result<int64_t> set_clock_from_boot_param(int64_t host_unix_nanos_at_start) {
  return set_clock_unix_nanos(host_unix_nanos_at_start + now_nanos(CLOCK_BOOTTIME));
}

}  // namespace berth::agent::init
