// cgroup v1: one hierarchy per controller (or group of controllers), best effort.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "cgroup/backend.h"
#include "cgroup/device_bpf.h"
#include "cgroup/knobs.h"

namespace berth::runtime::cgroup::detail {

namespace {

// See v2.cpp: 0 means "leave alone" where 0 is not a meaningful value.
bool set(const std::optional<int64_t>& v) { return v && *v != 0; }
bool set(const std::optional<uint64_t>& v) { return v && *v != 0; }
bool set(const std::optional<uint16_t>& v) { return v && *v != 0; }

tl::unexpected<Error> invalid(const std::string& field, const std::string& why) {
  return make_error(Errc::invalid_argument, field + ": " + why);
}

// v1 shows "no limit" as the largest page-aligned counter, not as -1.
constexpr uint64_t kV1Unlimited = 0x7FFFFFFFFFFFF000ULL;

std::string device_number(int64_t n) { return n < 0 ? "*" : std::to_string(n); }

std::string access_string(uint32_t access) {
  std::string out;
  if (access & BPF_DEVCG_ACC_READ) out += 'r';
  if (access & BPF_DEVCG_ACC_WRITE) out += 'w';
  if (access & BPF_DEVCG_ACC_MKNOD) out += 'm';
  return out;
}

// The kernel reads a leading "a" as "everything", whatever follows, so a narrower rule
// for all device types becomes one rule per type.
void plan_devices(const std::vector<DeviceRule>& rules, std::vector<Write>& plan) {
  for (size_t i = 0; i < rules.size(); ++i) {
    const DeviceRule& rule = rules[i];
    std::string file = rule.allow ? "devices.allow" : "devices.deny";
    std::string field = "linux.resources.devices[" + std::to_string(i) + "]";
    if (rule.matches_everything()) {
      plan.push_back({file, "a", field});
      continue;
    }
    std::string types = rule.type == 'a' ? "cb" : std::string(1, rule.type);
    for (char t : types)
      plan.push_back({file,
                      std::string(1, t) + " " + device_number(rule.major) + ":" +
                          device_number(rule.minor) + " " + access_string(rule.access),
                      field});
  }
}

class V1Manager final : public Manager {
 public:
  V1Manager(std::vector<Hierarchy> hierarchies, Options options)
      : hierarchies_(std::move(hierarchies)), options_(std::move(options)) {}

  Version version() const override { return Version::v1; }
  std::string path() const override { return hierarchies_.front().path; }
  std::map<std::string, std::string> paths() const override {
    std::map<std::string, std::string> out;
    for (const auto& h : hierarchies_) out[h.name] = h.path;
    return out;
  }

  Status create() override {
    for (const auto& h : hierarchies_) {
      std::string cur = h.mount;
      std::string_view rest = h.path;
      while (!rest.empty()) {
        size_t slash = rest.find('/');
        std::string_view part = rest.substr(0, slash);
        rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
        if (part.empty()) continue;
        std::string parent = cur;
        cur = join(cur, part);
        if (::mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST)
          return sys_error("cgroups: mkdir " + cur);
        if (h.has("cpuset")) BERTH_TRY(inherit_cpuset(parent, cur));
      }
    }
    return ok();
  }

  Status add_process(pid_t pid) override {
    for (const auto& h : hierarchies_) {
      auto st = write_knob(join(h.dir(), "cgroup.procs"), std::to_string(pid), options_);
      if (!st) return tl::unexpected(st.error().context("cgroups: add process " + std::to_string(pid)));
    }
    return ok();
  }

  Status apply(const oci::LinuxResources& r) override {
    std::vector<Write> plan;
    if (r.cpu) BERTH_TRY(plan_cpu(*r.cpu, plan));
    if (r.memory) BERTH_TRY(plan_memory(*r.memory, plan));
    if (r.pids)
      plan.push_back({"pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max",
                      "linux.resources.pids.limit"});
    if (r.blockIO) BERTH_TRY(plan_blkio(*r.blockIO, plan));
    for (size_t i = 0; i < r.hugepageLimits.size(); ++i) {
      const auto& h = r.hugepageLimits[i];
      std::string field = "linux.resources.hugepageLimits[" + std::to_string(i) + "]";
      if (h.pageSize.empty() || !std::all_of(h.pageSize.begin(), h.pageSize.end(),
                                              [](unsigned char c) { return std::isalnum(c); }))
        return invalid(field + ".pageSize", "\"" + h.pageSize + "\" is not a page size like 2MB");
      plan.push_back({"hugetlb." + h.pageSize + ".limit_in_bytes", std::to_string(h.limit), field + ".limit"});
    }
    if (r.network) {
      if (r.network->classID)
        plan.push_back({"net_cls.classid", std::to_string(*r.network->classID), "linux.resources.network.classID"});
      for (size_t i = 0; i < r.network->priorities.size(); ++i) {
        const auto& p = r.network->priorities[i];
        std::string field = "linux.resources.network.priorities[" + std::to_string(i) + "]";
        if (p.name.empty() || p.name.find_first_of(" \n") != std::string::npos)
          return invalid(field + ".name", "\"" + p.name + "\" is not an interface name");
        plan.push_back({"net_prio.ifpriomap", p.name + " " + std::to_string(p.priority), field});
      }
    }
    if (!r.devices.empty()) {
      auto rules = BERTH_TRY(normalize_device_rules(r.devices));
      if (!options_.skip_devices) plan_devices(rules, plan);
    }
    if (!r.unified.empty()) warn("linux.resources.unified: cgroup v2 settings ignored on cgroup v1");

    for (const auto& w : plan) BERTH_TRY(write(w));
    return ok();
  }

  Status freeze() override {
    std::string state = BERTH_TRY(freezer_state_file());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.freeze_timeout_ms);
    int delay = 1;
    for (;;) {
      // Writing FROZEN again retries tasks that were busy during the previous attempt.
      BERTH_TRY(write_knob(state, "FROZEN", options_));
      if (BERTH_TRY(read_knob(state)) == "FROZEN") return ok();
      if (std::chrono::steady_clock::now() >= deadline) {
        (void)write_knob(state, "THAWED", options_);
        return make_error(Errc::timeout, "cgroups: " + state + " did not reach FROZEN in time");
      }
      sleep_ms(delay);
      delay = std::min(delay * 2, 20);
    }
  }

  Status thaw() override {
    std::string state = BERTH_TRY(freezer_state_file());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.freeze_timeout_ms);
    for (;;) {
      BERTH_TRY(write_knob(state, "THAWED", options_));
      if (BERTH_TRY(read_knob(state)) == "THAWED") return ok();
      if (std::chrono::steady_clock::now() >= deadline)
        return make_error(Errc::timeout, "cgroups: " + state + " did not reach THAWED in time");
      sleep_ms(5);
    }
  }

  Result<bool> frozen() override {
    std::string state = BERTH_TRY(freezer_state_file());
    return BERTH_TRY(read_knob(state)) == "FROZEN";
  }

  Result<std::vector<pid_t>> pids() override {
    // Processes join every hierarchy, so any one lists them; prefer those that cannot be
    // left without the container noticing.
    for (std::string_view c : {"pids", "freezer", "memory", "cpu", "devices"})
      if (const Hierarchy* h = find(c)) return collect_procs(h->dir());
    return collect_procs(hierarchies_.front().dir());
  }

  Result<Stats> stats() override {
    Stats s;
    s.memory_limit = kUnlimited;
    s.pids_limit = kUnlimited;
    auto number = [&](const Hierarchy* h, const char* name, uint64_t& out) {
      if (!h) return false;
      auto text = read_knob(join(h->dir(), name));
      if (!text) return false;
      auto v = parse_u64(*text);
      if (!v) return false;
      out = *v;
      return true;
    };
    if (const Hierarchy* mem = find("memory")) {
      if (!is_dir(mem->dir())) return make_error(Errc::not_found, "cgroups: " + mem->dir() + " does not exist");
      number(mem, "memory.usage_in_bytes", s.memory_usage);
      number(mem, "memory.limit_in_bytes", s.memory_limit);
      if (s.memory_limit >= kV1Unlimited) s.memory_limit = kUnlimited;
      number(mem, "memory.max_usage_in_bytes", s.memory_max_usage);
      if (auto text = read_knob(join(mem->dir(), "memory.stat")); text) s.memory_stat = parse_keyed(*text);
    }
    if (const Hierarchy* acct = find("cpuacct")) {
      number(acct, "cpuacct.usage", s.cpu_usage_ns);
      if (!number(acct, "cpuacct.usage_user", s.cpu_user_ns) ||
          !number(acct, "cpuacct.usage_sys", s.cpu_system_ns)) {
        // Kernels before 4.7 only have cpuacct.stat, in clock ticks.
        if (auto text = read_knob(join(acct->dir(), "cpuacct.stat")); text) {
          auto ticks = parse_keyed(*text);
          uint64_t ns_per_tick = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
          s.cpu_user_ns = ticks["user"] * ns_per_tick;
          s.cpu_system_ns = ticks["system"] * ns_per_tick;
        }
      }
    }
    if (const Hierarchy* p = find("pids")) {
      number(p, "pids.current", s.pids_current);
      number(p, "pids.max", s.pids_limit);
    }
    if (const Hierarchy* blk = find("blkio")) {
      auto table = [&](const char* name, uint64_t IoStat::*read, uint64_t IoStat::*written) {
        std::string base = join(blk->dir(), name);
        auto text = read_knob(base + "_recursive");
        if (!text) text = read_knob(base);
        if (!text) return;
        std::string_view rest = *text;
        while (!rest.empty()) {
          size_t eol = rest.find('\n');
          auto words = split_words(rest.substr(0, eol));
          rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
          if (words.size() != 3) continue;  // "Total N" has two
          auto v = parse_u64(words[2]);
          if (!v) continue;
          if (words[1] == "Read") s.io[words[0]].*read = *v;
          else if (words[1] == "Write") s.io[words[0]].*written = *v;
        }
      };
      table("blkio.throttle.io_service_bytes", &IoStat::read_bytes, &IoStat::write_bytes);
      table("blkio.throttle.io_serviced", &IoStat::read_ios, &IoStat::write_ios);
    }
    return s;
  }

  Status kill_all(int sig) override {
    // An empty cgroup (the common case at delete) needs no freeze round trip.
    if (auto current = this->pids(); current && current->empty()) return ok();
    // Frozen, nothing in the cgroup can fork a child we would miss.
    bool thaw_after = sig == SIGKILL && find("freezer") && freeze().has_value();
    auto pids = this->pids();
    Status result = ok();
    if (!pids) {
      result = tl::unexpected(pids.error());
    } else {
      for (pid_t pid : *pids)
        if (::kill(pid, sig) < 0 && errno != ESRCH && result)
          result = sys_error("cgroups: kill " + std::to_string(pid));
    }
    if (thaw_after) (void)thaw();
    return result;
  }

  Status destroy() override {
    Status result = ok();
    for (const auto& h : hierarchies_) {
      auto st = remove_tree(h.dir(), options_.destroy_timeout_ms);
      if (!st && result) result = st;
    }
    return result;
  }

  int open_dir_fd() override { return -1; }

 private:
  const Hierarchy* find(std::string_view controller) const {
    for (const auto& h : hierarchies_)
      if (h.has(controller)) return &h;
    return nullptr;
  }

  Result<std::string> freezer_state_file() const {
    const Hierarchy* h = find("freezer");
    if (!h) return make_error(Errc::unsupported, "cgroups: no freezer hierarchy is mounted");
    return join(h->dir(), "freezer.state");
  }

  // New cpuset cgroups start with no CPUs and no memory nodes and refuse processes.
  Status inherit_cpuset(const std::string& parent, const std::string& child) {
    for (const char* name : {"cpuset.cpus", "cpuset.mems"}) {
      auto mine = read_knob(join(child, name));
      if (!mine) {
        if (mine.error().sys_errno == ENOENT) continue;
        return tl::unexpected(mine.error().context("cgroups"));
      }
      if (!mine->empty()) continue;
      auto theirs = read_knob(join(parent, name));
      if (!theirs) return tl::unexpected(theirs.error().context("cgroups"));
      BERTH_TRY(write_knob(join(child, name), *theirs, options_));
    }
    return ok();
  }

  // Best effort: a knob this kernel or mount lacks is a warning, a refused value an error.
  Status write(const Write& w) {
    std::string controller = w.file.substr(0, w.file.find('.'));
    const Hierarchy* h = find(controller);
    if (!h) {
      warn(w.field + ": no " + controller + " hierarchy is mounted; ignored");
      return ok();
    }
    std::string file = join(h->dir(), w.file);
    auto st = write_knob(file, w.value, options_);
    if (st) return ok();
    int err = st.error().sys_errno;
    if (err == ENOENT || err == EOPNOTSUPP) {
      warn(w.field + ": " + st.error().what() + "; ignored");
      return ok();
    }
    return tl::unexpected(st.error().context(w.field));
  }

  std::string memory_file(const char* name) const {
    const Hierarchy* h = find("memory");
    return h ? join(h->dir(), name) : std::string();
  }

  Status plan_cpu(const oci::LinuxCPU& c, std::vector<Write>& plan) {
    const std::string f = "linux.resources.cpu.";
    if (set(c.shares)) plan.push_back({"cpu.shares", std::to_string(*c.shares), f + "shares"});
    // The period first: the kernel checks the quota against the period in force.
    if (set(c.period)) plan.push_back({"cpu.cfs_period_us", std::to_string(*c.period), f + "period"});
    if (set(c.quota)) {
      if (*c.quota < -1) return invalid(f + "quota", "must be -1 or positive");
      plan.push_back({"cpu.cfs_quota_us", std::to_string(*c.quota), f + "quota"});
    }
    if (c.burst) plan.push_back({"cpu.cfs_burst_us", std::to_string(*c.burst), f + "burst"});
    if (set(c.realtimePeriod))
      plan.push_back({"cpu.rt_period_us", std::to_string(*c.realtimePeriod), f + "realtimePeriod"});
    if (set(c.realtimeRuntime))
      plan.push_back({"cpu.rt_runtime_us", std::to_string(*c.realtimeRuntime), f + "realtimeRuntime"});
    if (c.idle) plan.push_back({"cpu.idle", std::to_string(*c.idle), f + "idle"});
    if (!c.cpus.empty()) plan.push_back({"cpuset.cpus", c.cpus, f + "cpus"});
    if (!c.mems.empty()) plan.push_back({"cpuset.mems", c.mems, f + "mems"});
    return ok();
  }

  Status plan_memory(const oci::LinuxMemory& m, std::vector<Write>& plan) {
    const std::string f = "linux.resources.memory.";
    if (set(m.limit) && *m.limit < -1) return invalid(f + "limit", "must be -1 or a byte count");
    if (set(m.swap) && *m.swap < -1) return invalid(f + "swap", "must be -1 or a byte count");
    if (set(m.limit) && set(m.swap) && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit)
      return invalid(f + "swap", "memory+swap limit " + std::to_string(*m.swap) +
                                     " is below the memory limit " + std::to_string(*m.limit));
    if (m.swappiness && *m.swappiness > 100) return invalid(f + "swappiness", "must be 0 to 100");
    if (set(m.limit) && m.checkBeforeUpdate.value_or(false) && *m.limit > 0) {
      if (auto usage = read_knob(memory_file("memory.usage_in_bytes")); usage)
        if (auto v = parse_u64(*usage); v && *v > static_cast<uint64_t>(*m.limit))
          return make_error(Errc::conflict, f + "limit: " + std::to_string(*m.limit) +
                                                " is below the current usage " + std::to_string(*v));
    }

    // The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every step,
    // so raising the limit above the current memsw limit must raise memsw first.
    Write limit{"memory.limit_in_bytes", set(m.limit) ? std::to_string(*m.limit) : "", f + "limit"};
    Write swap{"memory.memsw.limit_in_bytes", set(m.swap) ? std::to_string(*m.swap) : "", f + "swap"};
    if (set(m.limit) && !set(m.swap) && *m.limit == -1 && is_file(memory_file("memory.memsw.limit_in_bytes")))
      swap.value = "-1";  // unlimited memory means unlimited memory+swap, as in v2.cpp
    bool swap_first = false;
    if (!limit.value.empty() && !swap.value.empty()) {
      uint64_t new_limit = *m.limit < 0 ? kUnlimited : static_cast<uint64_t>(*m.limit);
      if (auto cur = read_knob(memory_file("memory.memsw.limit_in_bytes")); cur)
        if (auto v = parse_u64(*cur); v) swap_first = new_limit > *v;
    }
    if (swap_first && !swap.value.empty()) plan.push_back(swap);
    if (!limit.value.empty()) plan.push_back(limit);
    if (!swap_first && !swap.value.empty()) plan.push_back(swap);

    if (m.reservation) {
      if (*m.reservation < -1) return invalid(f + "reservation", "must be -1 or a byte count");
      plan.push_back({"memory.soft_limit_in_bytes", std::to_string(*m.reservation), f + "reservation"});
    }
    if (set(m.kernel)) plan.push_back({"memory.kmem.limit_in_bytes", std::to_string(*m.kernel), f + "kernel"});
    if (set(m.kernelTCP))
      plan.push_back({"memory.kmem.tcp.limit_in_bytes", std::to_string(*m.kernelTCP), f + "kernelTCP"});
    if (m.swappiness) plan.push_back({"memory.swappiness", std::to_string(*m.swappiness), f + "swappiness"});
    if (m.disableOOMKiller)
      plan.push_back({"memory.oom_control", *m.disableOOMKiller ? "1" : "0", f + "disableOOMKiller"});
    if (m.useHierarchy)
      plan.push_back({"memory.use_hierarchy", *m.useHierarchy ? "1" : "0", f + "useHierarchy"});
    return ok();
  }

  Status plan_blkio(const oci::LinuxBlockIO& b, std::vector<Write>& plan) {
    const std::string f = "linux.resources.blockIO.";
    // Kernels without CFQ (5.0+) only have BFQ's weight knob.
    const Hierarchy* h = find("blkio");
    bool bfq = h && !is_file(join(h->dir(), "blkio.weight")) && is_file(join(h->dir(), "blkio.bfq.weight"));
    const char* weight_file = bfq ? "blkio.bfq.weight" : "blkio.weight";
    const char* weight_device_file = bfq ? "blkio.bfq.weight_device" : "blkio.weight_device";
    auto check_weight = [&](uint16_t w, const std::string& field) -> Status {
      if (w < 10 || w > 1000) return invalid(field, "must be between 10 and 1000");
      return ok();
    };
    auto device = [&](int64_t major, int64_t minor, const std::string& field) -> Result<std::string> {
      if (major < 0 || minor < 0) return invalid(field, "major and minor must not be negative");
      return std::to_string(major) + ":" + std::to_string(minor);
    };
    if (set(b.weight)) {
      BERTH_TRY(check_weight(*b.weight, f + "weight"));
      plan.push_back({weight_file, std::to_string(*b.weight), f + "weight"});
    }
    if (set(b.leafWeight)) {
      BERTH_TRY(check_weight(*b.leafWeight, f + "leafWeight"));
      plan.push_back({"blkio.leaf_weight", std::to_string(*b.leafWeight), f + "leafWeight"});
    }
    for (size_t i = 0; i < b.weightDevice.size(); ++i) {
      const auto& d = b.weightDevice[i];
      std::string field = f + "weightDevice[" + std::to_string(i) + "]";
      std::string dev = BERTH_TRY(device(d.major, d.minor, field));
      if (set(d.weight)) {
        BERTH_TRY(check_weight(*d.weight, field + ".weight"));
        plan.push_back({weight_device_file, dev + " " + std::to_string(*d.weight), field + ".weight"});
      }
      if (set(d.leafWeight)) {
        BERTH_TRY(check_weight(*d.leafWeight, field + ".leafWeight"));
        plan.push_back({"blkio.leaf_weight_device", dev + " " + std::to_string(*d.leafWeight),
                        field + ".leafWeight"});
      }
    }
    auto throttle = [&](const std::vector<oci::LinuxThrottleDevice>& list, const char* file,
                        const std::string& name) -> Status {
      for (size_t i = 0; i < list.size(); ++i) {
        std::string field = f + name + "[" + std::to_string(i) + "]";
        std::string dev = BERTH_TRY(device(list[i].major, list[i].minor, field));
        plan.push_back({file, dev + " " + std::to_string(list[i].rate), field});
      }
      return ok();
    };
    BERTH_TRY(throttle(b.throttleReadBpsDevice, "blkio.throttle.read_bps_device", "throttleReadBpsDevice"));
    BERTH_TRY(throttle(b.throttleWriteBpsDevice, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"));
    BERTH_TRY(throttle(b.throttleReadIOPSDevice, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"));
    BERTH_TRY(throttle(b.throttleWriteIOPSDevice, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"));
    return ok();
  }

  std::vector<Hierarchy> hierarchies_;
  Options options_;
};

}  // namespace

std::unique_ptr<Manager> make_v1(std::vector<Hierarchy> hierarchies, Options options) {
  return std::make_unique<V1Manager>(std::move(hierarchies), std::move(options));
}

}  // namespace berth::runtime::cgroup::detail
