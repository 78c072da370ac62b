// The stats JSON `docker stats --no-stream` reads, from synthetic samples.
#include <gtest/gtest.h>

#include "core/stats.h"

namespace berth::agent {
namespace {

StatsSample sample(uint64_t cpu, uint64_t sys, const std::string& read) {
  StatsSample s;
  s.cg.cpu_usage_ns = cpu;
  s.cg.cpu_user_ns = cpu / 2;
  s.cg.cpu_system_ns = cpu / 4;
  s.cg.memory_usage = 10 << 20;
  s.cg.memory_limit = runtime::cgroup::kUnlimited;
  s.cg.memory_max_usage = 12 << 20;
  s.cg.memory_stat = {{"total_inactive_file", 1 << 20}, {"cache", 2 << 20}};
  s.cg.pids_current = 3;
  s.cg.pids_limit = 100;
  s.cg.io["8:0"] = {100, 200, 1, 2};
  s.system_cpu_ns = sys;
  s.online_cpus = 2;
  s.read = read;
  return s;
}

TEST(Stats, ShapeDockerStatsReads) {
  auto prev = sample(1000, 100000, "2024-01-01T00:00:00.000000000Z");
  auto cur = sample(51000, 200000, "2024-01-01T00:00:01.000000000Z");
  auto j = stats_json("id1", "/web", cur, prev, 8ull << 30);
  EXPECT_EQ(j["id"], "id1");
  EXPECT_EQ(j["name"], "/web");
  EXPECT_EQ(j["read"], "2024-01-01T00:00:01.000000000Z");
  EXPECT_EQ(j["preread"], "2024-01-01T00:00:00.000000000Z");
  EXPECT_EQ(j["cpu_stats"]["cpu_usage"]["total_usage"], 51000);
  EXPECT_EQ(j["cpu_stats"]["system_cpu_usage"], 200000);
  EXPECT_EQ(j["cpu_stats"]["online_cpus"], 2);
  EXPECT_EQ(j["precpu_stats"]["cpu_usage"]["total_usage"], 1000);
  EXPECT_EQ(j["precpu_stats"]["system_cpu_usage"], 100000);
  // The CLI's CPU %: (Δcpu / Δsystem) × online CPUs × 100 = 100%.
  double cpu = (j["cpu_stats"]["cpu_usage"]["total_usage"].get<double>() - j["precpu_stats"]["cpu_usage"]["total_usage"].get<double>()) /
               (j["cpu_stats"]["system_cpu_usage"].get<double>() - j["precpu_stats"]["system_cpu_usage"].get<double>()) *
               j["cpu_stats"]["online_cpus"].get<double>() * 100;
  EXPECT_DOUBLE_EQ(cpu, 100.0);
  EXPECT_EQ(j["memory_stats"]["usage"], 10 << 20);
  EXPECT_EQ(j["memory_stats"]["limit"], 8ull << 30);  // unlimited → the host's memory
  EXPECT_EQ(j["memory_stats"]["max_usage"], 12 << 20);
  EXPECT_EQ(j["memory_stats"]["stats"]["total_inactive_file"], 1 << 20);
  EXPECT_EQ(j["pids_stats"]["current"], 3);
  EXPECT_EQ(j["pids_stats"]["limit"], 100);
  auto& io = j["blkio_stats"]["io_service_bytes_recursive"];
  ASSERT_EQ(io.size(), 2u);
  EXPECT_EQ(io[0]["op"], "read");
  EXPECT_EQ(io[0]["major"], 8);
  EXPECT_EQ(io[1]["value"], 200);
  EXPECT_TRUE(j.contains("storage_stats"));
  EXPECT_TRUE(j.contains("num_procs"));
}

TEST(Stats, FirstSampleHasZeroPrecpu) {
  auto j = stats_json("id1", "/web", sample(5, 6, "t"), std::nullopt, 1);
  EXPECT_EQ(j["preread"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["precpu_stats"]["cpu_usage"]["total_usage"], 0);
  EXPECT_FALSE(j["precpu_stats"].contains("system_cpu_usage"));
  auto e = empty_stats_json("id2", "/stopped");
  EXPECT_EQ(e["memory_stats"], Json::object());
  EXPECT_EQ(e["cpu_stats"]["cpu_usage"]["total_usage"], 0);
}

TEST(Stats, HostCounters) {
  EXPECT_GT(system_cpu_ns(), 0u);
  EXPECT_GT(host_memory_bytes(), 0u);
}

}  // namespace
}  // namespace berth::agent
