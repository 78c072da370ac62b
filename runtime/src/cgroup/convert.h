// Pure value conversions from runtime-spec (cgroup v1 flavoured) numbers to cgroup v2 ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "berth/common/result.h"

namespace berth::runtime::cgroup::detail {

// cpu.shares [2, 262144] → cpu.weight [1, 10000]; out-of-range shares are clamped first.
uint64_t shares_to_weight(uint64_t shares);
// blkio.weight [10, 1000] → io.weight [1, 10000]; clamped likewise.
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// "-1 means unlimited" spec numbers → the v2 spelling.
std::string limit_or_max(int64_t value);
// The spec's swap is memory+swap (v1 memsw); v2 memory.swap.max is swap alone.
// `limit` is the memory limit in force (-1 unlimited). Errors are invalid_argument, worded
// for the field linux.resources.memory.swap.
Result<std::string> swap_max(int64_t memory_plus_swap, int64_t limit);

}  // namespace berth::runtime::cgroup::detail
