// GET /containers/{id}/stats: samples of the container's cgroup (v2 files, or v1 controllers
// on hybrid hosts, through berth-runtime's cgroup managers) in the JSON shape dockerd sends
// and `docker stats` reads: read/preread, cpu_stats/precpu_stats, memory_stats, pids_stats,
// blkio_stats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "cgroup/cgroup.h"

namespace berth::agent {

struct StatsSample {
  runtime::cgroup::Stats cg;
  bool v2 = false;
  uint64_t system_cpu_ns = 0;  // all CPUs' time since boot, as /proc/stat counts it
  uint32_t online_cpus = 0;
  std::string read;            // RFC 3339 time of the sample
};

// Samples the cgroup at `cgroups_path` ("/berth/<id>"). Errc::not_found when it is gone.
Result<StatsSample> sample_stats(const std::string& cgroups_path, const std::string& id);

// `prev` (nullopt: zeros, as dockerd's first sample). `host_memory` stands in for an unset
// limit, as dockerd reports the machine's memory then.
Json stats_json(const std::string& id, const std::string& name, const StatsSample& cur,
                const std::optional<StatsSample>& prev, uint64_t host_memory);

// A zeroed stats object for stopped containers (dockerd answers those too).
Json empty_stats_json(const std::string& id, const std::string& name);

uint64_t system_cpu_ns();
uint64_t host_memory_bytes();

}  // namespace berth::agent
