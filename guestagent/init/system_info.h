// What GET /berth/v1/info reports about the guest: kernel, memory, CPUs, mounts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "berth/common/json.h"

namespace berth::agent::init {

// /proc/meminfo as name → bytes ("MemTotal: 1024 kB" → {"MemTotal", 1048576}).
std::map<std::string, uint64_t> parse_meminfo(std::string_view text);

// {"total_bytes", "available_bytes", "used_bytes" (total - available), "free_bytes"}.
Json memory_json(const std::map<std::string, uint64_t>& meminfo);

// /proc/self/mounts as [{"source", "target", "type", "options"}], octal escapes decoded.
Json mounts_json(std::string_view proc_mounts);

// {"kernel": {...}, "hostname", "cpus", "memory", "mounts", "uptime_ms"} from the live system.
Json system_info();

}  // namespace berth::agent::init
