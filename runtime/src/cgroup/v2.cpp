// cgroup v2: one unified hierarchy.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "berth/common/fs.h"
#include "berth/common/unique_fd.h"
#include "cgroup/backend.h"
#include "cgroup/convert.h"
#include "cgroup/device_bpf.h"
#include "cgroup/knobs.h"

namespace berth::runtime::cgroup::detail {

namespace {

// Specs written by Go tools carry 0 for numbers they never set, so for knobs where 0 is not a
// meaningful value (shares, quota, period, swap, weights, realtime) 0 means "leave alone",
// as in runc and crun.
bool set(const std::optional<int64_t>& v) { return v && *v != 0; }
bool set(const std::optional<uint64_t>& v) { return v && *v != 0; }
bool set(const std::optional<uint16_t>& v) { return v && *v != 0; }

tl::unexpected<Error> unsupported(const std::string& field) {
  return make_error(Errc::unsupported, field + ": not supported on cgroup v2");
}

tl::unexpected<Error> invalid(const std::string& field, const std::string& why) {
  return make_error(Errc::invalid_argument, field + ": " + why);
}

class V2Manager final : public Manager {
 public:
  V2Manager(std::string mount, std::string path, Options options)
      : mount_(std::move(mount)),
        path_(std::move(path)),
        dir_(join(mount_, path_)),
        options_(std::move(options)) {}

  Version version() const override { return Version::v2; }
  std::string path() const override { return path_; }
  std::map<std::string, std::string> paths() const override { return {{"", path_}}; }

  Status create() override {
    if (!is_dir(mount_))
      return make_error(Errc::not_found, "cgroups: " + mount_ + " is not a directory");
    std::string cur = mount_;
    std::string_view rest = path_;
    while (!rest.empty()) {
      size_t slash = rest.find('/');
      std::string_view part = rest.substr(0, slash);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash + 1);
      if (part.empty()) continue;
      BERTH_TRY(enable_controllers(cur));
      cur = join(cur, part);
      if (::mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST) return sys_error("cgroups: mkdir " + cur);
    }
    return ok();
  }

  Status add_process(pid_t pid) override {
    auto st = write_knob(file("cgroup.procs"), std::to_string(pid), options_);
    if (!st) return tl::unexpected(st.error().context("cgroups: add process " + std::to_string(pid)));
    return ok();
  }

  Status apply(const oci::LinuxResources& r) override {
    if (!is_dir(dir_)) return make_error(Errc::not_found, "cgroups: " + dir_ + " does not exist");
    std::vector<Write> plan;
    if (r.cpu) BERTH_TRY(plan_cpu(*r.cpu, plan));
    if (r.memory) BERTH_TRY(plan_memory(*r.memory, plan));
    if (r.pids)
      plan.push_back({"pids.max", r.pids->limit > 0 ? std::to_string(r.pids->limit) : "max",
                      "linux.resources.pids.limit"});
    if (r.blockIO) BERTH_TRY(plan_io(*r.blockIO, plan));
    for (size_t i = 0; i < r.hugepageLimits.size(); ++i) {
      const auto& h = r.hugepageLimits[i];
      std::string field = "linux.resources.hugepageLimits[" + std::to_string(i) + "]";
      if (h.pageSize.empty() || !std::all_of(h.pageSize.begin(), h.pageSize.end(),
                                              [](unsigned char c) { return std::isalnum(c); }))
        return invalid(field + ".pageSize", "\"" + h.pageSize + "\" is not a page size like 2MB");
      plan.push_back({"hugetlb." + h.pageSize + ".max", std::to_string(h.limit), field + ".limit"});
    }
    if (r.network && (r.network->classID || !r.network->priorities.empty()))
      return unsupported("linux.resources.network");
    std::vector<bpf_insn> program;
    if (!r.devices.empty()) {
      auto rules = BERTH_TRY(normalize_device_rules(r.devices));
      if (!options_.skip_devices) program = BERTH_TRY(device_program(rules));
    }
    // Last, so that a key also set through a field wins, as the spec asks.
    for (const auto& [key, value] : r.unified) {
      std::string field = "linux.resources.unified[\"" + key + "\"]";
      if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos)
        return invalid(field, "not the name of a file in the cgroup directory");
      plan.push_back({key, value, field});
    }

    for (const auto& w : plan) BERTH_TRY(write(w));
    if (!program.empty()) {
      auto fd = fs::open(dir_, O_RDONLY | O_DIRECTORY);
      if (!fd) return tl::unexpected(fd.error().context("linux.resources.devices"));
      auto st = attach_device_program(fd->get(), program);
      if (!st) return tl::unexpected(st.error().context("linux.resources.devices"));
    }
    return ok();
  }

  Status freeze() override {
    BERTH_TRY(write_knob(file("cgroup.freeze"), "1", options_));
    auto st = wait_frozen(true);
    if (!st) (void)write_knob(file("cgroup.freeze"), "0", options_);
    return st;
  }

  Status thaw() override {
    BERTH_TRY(write_knob(file("cgroup.freeze"), "0", options_));
    return wait_frozen(false);
  }

  Result<bool> frozen() override {
    auto events = BERTH_TRY(read_knob(file("cgroup.events")));
    return parse_keyed(events)["frozen"] == 1;
  }

  Result<std::vector<pid_t>> pids() override { return collect_procs(dir_); }

  Result<Stats> stats() override {
    if (!is_dir(dir_)) return make_error(Errc::not_found, "cgroups: " + dir_ + " does not exist");
    Stats s;
    auto number = [&](const char* name, uint64_t& out) {
      if (auto text = read_knob(file(name)); text)
        if (auto v = parse_u64(*text); v) out = *v;
    };
    number("memory.current", s.memory_usage);
    s.memory_limit = kUnlimited;
    number("memory.max", s.memory_limit);
    number("memory.peak", s.memory_max_usage);
    if (auto text = read_knob(file("memory.stat")); text) s.memory_stat = parse_keyed(*text);
    if (auto text = read_knob(file("cpu.stat")); text) {
      auto cpu = parse_keyed(*text);
      s.cpu_usage_ns = cpu["usage_usec"] * 1000;
      s.cpu_user_ns = cpu["user_usec"] * 1000;
      s.cpu_system_ns = cpu["system_usec"] * 1000;
    }
    number("pids.current", s.pids_current);
    s.pids_limit = kUnlimited;
    number("pids.max", s.pids_limit);
    if (auto text = read_knob(file("io.stat")); text) s.io = parse_io_stat(*text);
    return s;
  }

  Status kill_all(int sig) override {
    if (sig == SIGKILL && is_file(file("cgroup.kill")))
      return write_knob(file("cgroup.kill"), "1", options_);
    // Frozen, nothing in the cgroup can fork a child we would miss.
    bool thaw_after = sig == SIGKILL && freeze().has_value();
    auto pids = collect_procs(dir_);
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
    dir_fd_.reset();
    return remove_tree(dir_, options_.destroy_timeout_ms);
  }

  int open_dir_fd() override {
    if (!dir_fd_) {
      auto fd = fs::open(dir_, O_PATH | O_DIRECTORY);
      if (fd) dir_fd_ = std::move(*fd);
    }
    return dir_fd_.get();
  }

 private:
  std::string file(std::string_view name) const { return join(dir_, name); }

  Status write(const Write& w) {
    auto st = write_knob(file(w.file), w.value, options_);
    if (st) return st;
    Error e = st.error();
    if (e.sys_errno == ENOENT) {
      std::string controller = w.file.substr(0, w.file.find('.'));
      return make_error(Errc::unsupported,
                        w.field + ": " + file(w.file) + " does not exist (is the " + controller +
                            " controller available and enabled for this cgroup?)");
    }
    return tl::unexpected(std::move(e.context(w.field)));
  }

  // Enables in `dir` every controller it has, so the cgroups below can use them.
  Status enable_controllers(const std::string& dir) {
    auto available = read_knob(join(dir, "cgroup.controllers"));
    if (!available) return tl::unexpected(available.error().context("cgroups"));
    std::vector<std::string> enabled;
    if (auto text = read_knob(join(dir, "cgroup.subtree_control")); text) enabled = split_words(*text);
    std::vector<std::string> missing;
    for (const auto& c : split_words(*available))
      if (std::find(enabled.begin(), enabled.end(), c) == enabled.end()) missing.push_back(c);
    if (missing.empty()) return ok();
    std::string all;
    for (const auto& c : missing) all += (all.empty() ? "+" : " +") + c;
    std::string control = join(dir, "cgroup.subtree_control");
    if (write_knob(control, all, options_)) return ok();
    // One refusal (a controller busy with a realtime task, say) must not cost the others.
    for (const auto& c : missing) {
      auto st = write_knob(control, "+" + c, options_);
      if (!st) warn("cgroups: cannot enable the " + c + " controller: " + st.error().what());
    }
    return ok();
  }

  Status wait_frozen(bool want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.freeze_timeout_ms);
    int delay = 1;
    for (;;) {
      bool now = BERTH_TRY(frozen());
      if (now == want) return ok();
      if (std::chrono::steady_clock::now() >= deadline)
        return make_error(Errc::timeout, std::string("cgroups: ") + dir_ + " did not " +
                                             (want ? "freeze" : "thaw") + " in time");
      sleep_ms(delay);
      delay = std::min(delay * 2, 20);
    }
  }

  Status plan_cpu(const oci::LinuxCPU& c, std::vector<Write>& plan) {
    const std::string f = "linux.resources.cpu.";
    if (set(c.realtimeRuntime)) return unsupported(f + "realtimeRuntime");
    if (set(c.realtimePeriod)) return unsupported(f + "realtimePeriod");
    if (set(c.shares))
      plan.push_back({"cpu.weight", std::to_string(shares_to_weight(*c.shares)), f + "shares"});
    if (set(c.quota) || set(c.period)) {
      // cpu.max holds both; keep the half the spec does not set.
      std::string quota = "max", period = "100000";
      if (auto cur = read_knob(file("cpu.max")); cur) {
        auto words = split_words(*cur);
        if (words.size() == 2) quota = words[0], period = words[1];
      }
      if (set(c.quota)) {
        if (*c.quota < -1) return invalid(f + "quota", "must be -1 or positive");
        quota = limit_or_max(*c.quota);
      }
      if (set(c.period)) period = std::to_string(*c.period);
      plan.push_back({"cpu.max", quota + " " + period, f + (set(c.quota) ? "quota" : "period")});
    }
    if (c.burst) plan.push_back({"cpu.max.burst", std::to_string(*c.burst), f + "burst"});
    if (c.idle) plan.push_back({"cpu.idle", std::to_string(*c.idle), f + "idle"});
    if (!c.cpus.empty()) plan.push_back({"cpuset.cpus", c.cpus, f + "cpus"});
    if (!c.mems.empty()) plan.push_back({"cpuset.mems", c.mems, f + "mems"});
    return ok();
  }

  Status plan_memory(const oci::LinuxMemory& m, std::vector<Write>& plan) {
    const std::string f = "linux.resources.memory.";
    if (set(m.kernel)) return unsupported(f + "kernel");
    if (set(m.kernelTCP)) return unsupported(f + "kernelTCP");
    if (m.swappiness) return unsupported(f + "swappiness");
    if (m.disableOOMKiller.value_or(false)) return unsupported(f + "disableOOMKiller");
    // v2 is always hierarchical, so only asking for the opposite is an error.
    if (!m.useHierarchy.value_or(true)) return unsupported(f + "useHierarchy");
    if (set(m.limit)) {
      if (*m.limit < -1) return invalid(f + "limit", "must be -1 or a byte count");
      if (m.checkBeforeUpdate.value_or(false) && *m.limit > 0) {
        auto usage = read_knob(file("memory.current"));
        if (usage)
          if (auto v = parse_u64(*usage); v && *v > static_cast<uint64_t>(*m.limit))
            return make_error(Errc::conflict, f + "limit: " + std::to_string(*m.limit) +
                                                  " is below the current usage " + std::to_string(*v));
      }
      plan.push_back({"memory.max", limit_or_max(*m.limit), f + "limit"});
    }
    if (m.reservation) {
      if (*m.reservation < -1) return invalid(f + "reservation", "must be -1 or a byte count");
      plan.push_back({"memory.low", limit_or_max(*m.reservation), f + "reservation"});
    }
    if (set(m.swap)) {
      int64_t limit = -1;
      if (set(m.limit)) {
        limit = *m.limit;
      } else if (auto cur = read_knob(file("memory.max")); cur) {
        // `update` may change swap alone; the limit in force is the one to subtract.
        if (auto v = parse_u64(*cur); v && *v != kUnlimited) limit = static_cast<int64_t>(*v);
      }
      plan.push_back({"memory.swap.max", BERTH_TRY(swap_max(*m.swap, limit)), f + "swap"});
    } else if (set(m.limit) && *m.limit == -1 && is_file(file("memory.swap.max"))) {
      // v1 habit: unlimited memory with no swap value means unlimited memory+swap.
      plan.push_back({"memory.swap.max", "max", f + "limit"});
    }
    return ok();
  }

  Status plan_io(const oci::LinuxBlockIO& b, std::vector<Write>& plan) {
    const std::string f = "linux.resources.blockIO.";
    // BFQ takes blkio-style weights as they are; without it io.weight is the knob.
    bool bfq = is_file(file("io.bfq.weight"));
    auto weight = [&](uint16_t w, const std::string& field) -> Result<std::string> {
      if (w < 10 || w > 1000) return invalid(field, "must be between 10 and 1000");
      return std::to_string(bfq ? w : blkio_weight_to_io_weight(w));
    };
    auto device = [&](int64_t major, int64_t minor, const std::string& field) -> Result<std::string> {
      if (major < 0 || minor < 0) return invalid(field, "major and minor must not be negative");
      return std::to_string(major) + ":" + std::to_string(minor);
    };
    const char* weight_file = bfq ? "io.bfq.weight" : "io.weight";
    if (set(b.leafWeight)) return unsupported(f + "leafWeight");
    if (set(b.weight)) plan.push_back({weight_file, BERTH_TRY(weight(*b.weight, f + "weight")), f + "weight"});
    for (size_t i = 0; i < b.weightDevice.size(); ++i) {
      const auto& d = b.weightDevice[i];
      std::string field = f + "weightDevice[" + std::to_string(i) + "]";
      if (set(d.leafWeight)) return unsupported(field + ".leafWeight");
      if (!set(d.weight)) continue;
      std::string dev = BERTH_TRY(device(d.major, d.minor, field));
      plan.push_back({weight_file, dev + " " + BERTH_TRY(weight(*d.weight, field + ".weight")), field});
    }
    // io.max takes all four limits of a device in one line; 0 lifts a limit as in v1.
    std::vector<std::pair<std::string, std::string>> lines;
    auto throttle = [&](const std::vector<oci::LinuxThrottleDevice>& list, const char* key,
                        const std::string& name) -> Status {
      for (size_t i = 0; i < list.size(); ++i) {
        std::string field = f + name + "[" + std::to_string(i) + "]";
        std::string dev = BERTH_TRY(device(list[i].major, list[i].minor, field));
        std::string value = std::string(key) + "=" +
                            (list[i].rate == 0 ? std::string("max") : std::to_string(list[i].rate));
        auto it = std::find_if(lines.begin(), lines.end(), [&](const auto& l) { return l.first == dev; });
        if (it == lines.end()) lines.push_back({dev, value});
        else it->second += " " + value;
      }
      return ok();
    };
    BERTH_TRY(throttle(b.throttleReadBpsDevice, "rbps", "throttleReadBpsDevice"));
    BERTH_TRY(throttle(b.throttleWriteBpsDevice, "wbps", "throttleWriteBpsDevice"));
    BERTH_TRY(throttle(b.throttleReadIOPSDevice, "riops", "throttleReadIOPSDevice"));
    BERTH_TRY(throttle(b.throttleWriteIOPSDevice, "wiops", "throttleWriteIOPSDevice"));
    for (const auto& [dev, limits] : lines) plan.push_back({"io.max", dev + " " + limits, f + "throttle"});
    return ok();
  }

  static std::map<std::string, IoStat> parse_io_stat(std::string_view text) {
    std::map<std::string, IoStat> out;
    while (!text.empty()) {
      size_t eol = text.find('\n');
      auto words = split_words(text.substr(0, eol));
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      if (words.empty()) continue;
      IoStat& io = out[words[0]];
      for (size_t i = 1; i < words.size(); ++i) {
        size_t eq = words[i].find('=');
        if (eq == std::string::npos) continue;
        auto v = parse_u64(std::string_view(words[i]).substr(eq + 1));
        if (!v) continue;
        std::string key = words[i].substr(0, eq);
        if (key == "rbytes") io.read_bytes = *v;
        else if (key == "wbytes") io.write_bytes = *v;
        else if (key == "rios") io.read_ios = *v;
        else if (key == "wios") io.write_ios = *v;
      }
    }
    return out;
  }

  std::string mount_;
  std::string path_;
  std::string dir_;
  Options options_;
  UniqueFd dir_fd_;
};

}  // namespace

std::unique_ptr<Manager> make_v2(std::string mount, std::string path, Options options) {
  return std::make_unique<V2Manager>(std::move(mount), std::move(path), std::move(options));
}

}  // namespace berth::runtime::cgroup::detail
