#include "stats.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "ids.h"

namespace berth::agent {

uint64_t system_cpu_ns() {
  std::ifstream f("/proc/stat");
  std::string label;
  f >> label;
  if (label != "cpu") return 0;
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) {
    uint64_t v = 0;
    if (!(f >> v)) break;
    total += v;
  }
  long tick = ::sysconf(_SC_CLK_TCK);
  return total * (1000000000ULL / static_cast<uint64_t>(tick > 0 ? tick : 100));
}

uint64_t host_memory_bytes() {
  struct sysinfo si {};
  if (::sysinfo(&si) < 0) return 0;
  return static_cast<uint64_t>(si.totalram) * si.mem_unit;
}

Result<StatsSample> sample_stats(const std::string& cgroups_path, const std::string& id) {
  runtime::cgroup::Options opts;
  opts.skip_devices = true;
  auto mgr = BERTH_TRY(runtime::cgroup::Manager::open(cgroups_path, id, opts));
  StatsSample s;
  s.v2 = mgr->version() == runtime::cgroup::Version::v2;
  s.cg = BERTH_TRY(mgr->stats());
  s.system_cpu_ns = system_cpu_ns();
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  s.online_cpus = static_cast<uint32_t>(n > 0 ? n : 1);
  s.read = now_string();
  return s;
}

namespace {

Json cpu_json(const std::optional<StatsSample>& s) {
  Json usage = {{"total_usage", s ? s->cg.cpu_usage_ns : 0},
                {"usage_in_kernelmode", s ? s->cg.cpu_system_ns : 0},
                {"usage_in_usermode", s ? s->cg.cpu_user_ns : 0}};
  Json j = {{"cpu_usage", usage},
            {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  if (s) {
    j["system_cpu_usage"] = s->system_cpu_ns;
    j["online_cpus"] = s->online_cpus;
  }
  return j;
}

Json blkio_json(const StatsSample& s) {
  Json bytes = Json::array(), ios = Json::array();
  for (const auto& [dev, io] : s.cg.io) {
    auto colon = dev.find(':');
    uint64_t major = 0, minor = 0;
    try {
      major = std::stoull(dev.substr(0, colon));
      minor = colon == std::string::npos ? 0 : std::stoull(dev.substr(colon + 1));
    } catch (const std::exception&) {
      continue;
    }
    bytes.push_back({{"major", major}, {"minor", minor}, {"op", "read"}, {"value", io.read_bytes}});
    bytes.push_back({{"major", major}, {"minor", minor}, {"op", "write"}, {"value", io.write_bytes}});
    ios.push_back({{"major", major}, {"minor", minor}, {"op", "read"}, {"value", io.read_ios}});
    ios.push_back({{"major", major}, {"minor", minor}, {"op", "write"}, {"value", io.write_ios}});
  }
  return {{"io_service_bytes_recursive", bytes.empty() ? Json(nullptr) : bytes},
          {"io_serviced_recursive", s.v2 || ios.empty() ? Json(nullptr) : ios},
          {"io_queue_recursive", nullptr},
          {"io_service_time_recursive", nullptr},
          {"io_wait_time_recursive", nullptr},
          {"io_merged_recursive", nullptr},
          {"io_time_recursive", nullptr},
          {"sectors_recursive", nullptr}};
}

}  // namespace

Json stats_json(const std::string& id, const std::string& name, const StatsSample& cur,
                const std::optional<StatsSample>& prev, uint64_t host_memory) {
  Json mem_stats = Json::object();
  for (const auto& [k, v] : cur.cg.memory_stat) mem_stats[k] = v;
  uint64_t limit = cur.cg.memory_limit == runtime::cgroup::kUnlimited ? host_memory : cur.cg.memory_limit;
  Json memory = {{"usage", cur.cg.memory_usage}, {"stats", mem_stats}, {"limit", limit}};
  if (!cur.v2 && cur.cg.memory_max_usage) memory["max_usage"] = cur.cg.memory_max_usage;
  Json pids = {{"current", cur.cg.pids_current}};
  if (cur.cg.pids_limit != runtime::cgroup::kUnlimited) pids["limit"] = cur.cg.pids_limit;
  return {{"read", cur.read},
          {"preread", prev ? prev->read : std::string(kZeroTime)},
          {"pids_stats", pids},
          {"blkio_stats", blkio_json(cur)},
          {"num_procs", 0},
          {"storage_stats", Json::object()},
          {"cpu_stats", cpu_json(cur)},
          {"precpu_stats", cpu_json(prev)},
          {"memory_stats", memory},
          {"name", name},
          {"id", id}};
}

Json empty_stats_json(const std::string& id, const std::string& name) {
  Json empty_cpu = {{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
                    {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
  return {{"read", std::string(kZeroTime)},
          {"preread", std::string(kZeroTime)},
          {"pids_stats", Json::object()},
          {"blkio_stats",
           {{"io_service_bytes_recursive", nullptr},
            {"io_serviced_recursive", nullptr},
            {"io_queue_recursive", nullptr},
            {"io_service_time_recursive", nullptr},
            {"io_wait_time_recursive", nullptr},
            {"io_merged_recursive", nullptr},
            {"io_time_recursive", nullptr},
            {"sectors_recursive", nullptr}}},
          {"num_procs", 0},
          {"storage_stats", Json::object()},
          {"cpu_stats", empty_cpu},
          {"precpu_stats", empty_cpu},
          {"memory_stats", Json::object()},
          {"name", name},
          {"id", id}};
}

}  // namespace berth::agent
