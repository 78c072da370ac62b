#include "backends/qemu/host_tsc.h"

#include <time.h>
#include <unistd.h>

namespace berth::qemu {

long host_tsc_khz() {
#if defined(__x86_64__)
  auto now_ns = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
  };
  long long t0 = now_ns();
  unsigned long long c0 = __builtin_ia32_rdtsc();
  ::usleep(100000);
  long long t1 = now_ns();
  unsigned long long c1 = __builtin_ia32_rdtsc();
  if (t1 <= t0 || c1 <= c0) return 0;
  return static_cast<long>(static_cast<double>(c1 - c0) * 1e6 / static_cast<double>(t1 - t0));
#else
  return 0;
#endif
}

}  // namespace berth::qemu
