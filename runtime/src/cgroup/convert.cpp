#include "cgroup/convert.h"

#include <algorithm>

namespace berth::runtime::cgroup::detail {

uint64_t shares_to_weight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

std::string limit_or_max(int64_t value) { return value < 0 ? "max" : std::to_string(value); }

Result<std::string> swap_max(int64_t memory_plus_swap, int64_t limit) {
  if (memory_plus_swap == -1) return std::string("max");
  if (memory_plus_swap < -1)
    return make_error(Errc::invalid_argument,
                      "linux.resources.memory.swap: must be -1 or a byte count, not " +
                          std::to_string(memory_plus_swap));
  if (limit < 0)
    return make_error(Errc::invalid_argument,
                      "linux.resources.memory.swap: a memory+swap limit needs a memory limit");
  if (memory_plus_swap < limit)
    return make_error(Errc::invalid_argument,
                      "linux.resources.memory.swap: memory+swap limit " +
                          std::to_string(memory_plus_swap) + " is below the memory limit " +
                          std::to_string(limit));
  return std::to_string(memory_plus_swap - limit);
}

}  // namespace berth::runtime::cgroup::detail
