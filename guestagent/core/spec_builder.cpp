#include "spec_builder.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "defaults.h"
#include "seccomp.h"

namespace berth::agent {

namespace {

std::string env_name(const std::string& e) { return e.substr(0, e.find('=')); }

bool has_env(const std::vector<std::string>& env, const std::string& name) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return env_name(e) == name; });
}

size_t depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

std::vector<std::string> split_options(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t c = s.find(',', pos);
    std::string o = s.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
    if (!o.empty()) out.push_back(o);
    if (c == std::string::npos) break;
    pos = c + 1;
  }
  return out;
}

oci::LinuxDeviceCgroup allow(std::string type, std::optional<int64_t> major, std::optional<int64_t> minor, std::string access) {
  oci::LinuxDeviceCgroup d;
  d.allow = true;
  d.type = std::move(type);
  d.major = major;
  d.minor = minor;
  d.access = std::move(access);
  return d;
}

oci::LinuxResources resources(const HostConfig& h) {
  oci::LinuxResources r;
  oci::LinuxDeviceCgroup deny;
  deny.allow = false;
  deny.access = "rwm";
  if (h.privileged) {
    r.devices.push_back(allow("a", std::nullopt, std::nullopt, "rwm"));
  } else {
    // Docker's default device rules: mknod of anything, and the usual character devices.
    r.devices = {deny,
                 allow("c", std::nullopt, std::nullopt, "m"),
                 allow("b", std::nullopt, std::nullopt, "m"),
                 allow("c", 1, 3, "rwm"),   // null
                 allow("c", 1, 8, "rwm"),   // random
                 allow("c", 1, 7, "rwm"),   // full
                 allow("c", 5, 0, "rwm"),   // tty
                 allow("c", 1, 5, "rwm"),   // zero
                 allow("c", 1, 9, "rwm"),   // urandom
                 allow("c", 136, std::nullopt, "rwm"),  // pts
                 allow("c", 5, 2, "rwm"),   // ptmx
                 allow("c", 10, 200, "rwm")};  // tun
  }
  oci::LinuxMemory mem;
  bool any_mem = false;
  if (h.memory > 0) {
    mem.limit = h.memory;
    any_mem = true;
  }
  if (h.memory_swap != 0 && (h.memory > 0 || h.memory_swap == -1)) {
    mem.swap = h.memory_swap;
    any_mem = true;
  }
  if (h.memory_reservation > 0) {
    mem.reservation = h.memory_reservation;
    any_mem = true;
  }
  if (h.memory_swappiness && *h.memory_swappiness >= 0) {
    mem.swappiness = static_cast<uint64_t>(*h.memory_swappiness);
    any_mem = true;
  }
  if (h.oom_kill_disable && *h.oom_kill_disable) {
    mem.disableOOMKiller = true;
    any_mem = true;
  }
  if (any_mem) r.memory = mem;
  oci::LinuxCPU cpu;
  bool any_cpu = false;
  if (h.cpu_shares > 0) {
    cpu.shares = static_cast<uint64_t>(h.cpu_shares);
    any_cpu = true;
  }
  if (h.nano_cpus > 0) {
    cpu.period = 100000;
    cpu.quota = h.nano_cpus * 100000 / 1000000000;
    any_cpu = true;
  }
  if (h.cpu_period > 0) {
    cpu.period = static_cast<uint64_t>(h.cpu_period);
    any_cpu = true;
  }
  if (h.cpu_quota != 0) {
    cpu.quota = h.cpu_quota;
    any_cpu = true;
  }
  if (!h.cpuset_cpus.empty() || !h.cpuset_mems.empty()) {
    cpu.cpus = h.cpuset_cpus;
    cpu.mems = h.cpuset_mems;
    any_cpu = true;
  }
  if (any_cpu) r.cpu = cpu;
  if (h.pids_limit && *h.pids_limit > 0) r.pids = oci::LinuxPids{*h.pids_limit};
  if (h.blkio_weight > 0) {
    oci::LinuxBlockIO b;
    b.weight = static_cast<uint16_t>(h.blkio_weight);
    r.blockIO = b;
  }
  return r;
}

oci::Mount mount(std::string dst, std::string type, std::string src, std::vector<std::string> options) {
  oci::Mount m;
  m.destination = std::move(dst);
  m.type = std::move(type);
  m.source = std::move(src);
  m.options = std::move(options);
  return m;
}

}  // namespace

Result<SecurityOptions> parse_security_options(const std::vector<std::string>& opts) {
  SecurityOptions out;
  for (const auto& o : opts) {
    auto eq = o.find_first_of("=:");
    std::string key = o.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (key == "no-new-privileges") {
      if (value.empty() || value == "true") {
        out.no_new_privileges = true;
      } else if (value == "false") {
        out.no_new_privileges = false;
      } else {
        return make_error(Errc::invalid_argument, "invalid --security-opt 2: \"" + o + "\"");
      }
    } else if (key == "seccomp") {
      if (value == "unconfined") {
        out.seccomp_unconfined = true;
      } else if (value == "builtin" || value.empty()) {
        out.seccomp_profile.clear();
      } else {
        out.seccomp_profile = value;  // the CLI sends the profile file's content
      }
    } else if (key == "systempaths" && value == "unconfined") {
      out.systempaths_unconfined = true;
    } else if (key == "apparmor" || key == "label" || key == "writable-cgroups" || key == "mask" || key == "unmask") {
      // No AppArmor or SELinux in berth's guest; accepted and ignored like dockerd without them.
    } else {
      return make_error(Errc::invalid_argument, "Invalid --security-opt: \"" + o + "\"");
    }
  }
  return out;
}

std::vector<std::string> merge_env_list(const std::vector<std::string>& env, const std::vector<std::string>& overrides) {
  std::vector<std::string> out = env;
  for (const auto& o : overrides) {
    std::string name = env_name(o);
    auto it = std::find_if(out.begin(), out.end(), [&](const std::string& e) { return env_name(e) == name; });
    if (o.find('=') == std::string::npos) {
      if (it != out.end()) out.erase(it);
      continue;
    }
    if (it != out.end()) {
      *it = o;
    } else {
      out.push_back(o);
    }
  }
  return out;
}

Result<oci::Spec> build_spec(const SpecInput& in) {
  const Container& c = *in.container;
  const HostConfig& h = c.host_config;
  auto sec = BERTH_TRY(parse_security_options(h.security_opt));
  auto caps = BERTH_TRY(effective_capabilities(h.cap_add, h.cap_drop, h.privileged));
  bool host_net = h.network_mode == "host";

  oci::Spec s;
  s.ociVersion = "1.0.2";
  s.root = oci::Root{in.rootfs, h.readonly_rootfs};
  s.hostname = c.config.hostname;
  s.domainname = c.config.domainname;

  oci::Process p;
  p.terminal = c.config.tty;
  if (c.config.tty && (h.console_size[0] > 0 || h.console_size[1] > 0))
    p.consoleSize = oci::Box{static_cast<uint32_t>(h.console_size[0]), static_cast<uint32_t>(h.console_size[1])};
  p.user.uid = in.uid;
  p.user.gid = in.gid;
  p.user.additionalGids = in.additional_gids;
  if (!in.init_binary.empty()) {
    p.args = {kInitPath, "--"};
  }
  if (!c.path.empty()) p.args.push_back(c.path);
  p.args.insert(p.args.end(), c.args.begin(), c.args.end());
  p.env = c.config.env;
  if (!has_env(p.env, "PATH")) p.env.insert(p.env.begin(), kDefaultPathEnv);
  if (!has_env(p.env, "HOSTNAME")) p.env.insert(p.env.begin() + 1, "HOSTNAME=" + c.config.hostname);
  if (c.config.tty && !has_env(p.env, "TERM")) p.env.push_back("TERM=xterm");
  p.cwd = c.config.working_dir.empty() ? "/" : c.config.working_dir;
  oci::LinuxCapabilities lc;
  lc.bounding = lc.effective = lc.permitted = caps;
  p.capabilities = lc;
  for (const auto& u : h.ulimits) {
    std::string name;
    for (char ch : u.name) name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
    p.rlimits.push_back({"RLIMIT_" + name, static_cast<uint64_t>(u.hard), static_cast<uint64_t>(u.soft)});
  }
  p.noNewPrivileges = sec.no_new_privileges;
  if (h.oom_score_adj != 0) p.oomScoreAdj = static_cast<int>(h.oom_score_adj);
  s.process = p;

  // Mounts, in dockerd's order: the system ones, the network files, then the user's, parents
  // before children. A user mount replaces a system mount at the same place.
  std::vector<oci::Mount> sys = {
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", h.privileged ? "rw" : "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", h.privileged ? "rw" : "ro"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/dev/shm", "tmpfs", "shm",
            {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(h.shm_size > 0 ? h.shm_size : kDefaultShmSize)}),
  };
  std::string net_mode = h.readonly_rootfs ? "ro" : "rw";
  if (!c.resolv_conf_path.empty())
    sys.push_back(mount("/etc/resolv.conf", "bind", c.resolv_conf_path, {"rbind", "rprivate", net_mode}));
  if (!c.hostname_path.empty())
    sys.push_back(mount("/etc/hostname", "bind", c.hostname_path, {"rbind", "rprivate", net_mode}));
  if (!c.hosts_path.empty()) sys.push_back(mount("/etc/hosts", "bind", c.hosts_path, {"rbind", "rprivate", net_mode}));

  std::vector<oci::Mount> user;
  for (const auto& mp : c.mounts) {
    if (mp.type == "tmpfs") {
      user.push_back(mount(mp.destination, "tmpfs", "tmpfs", split_options(mp.tmpfs_options)));
      continue;
    }
    std::vector<std::string> opts = {"rbind", mp.propagation.empty() ? "rprivate" : mp.propagation};
    if (!mp.rw) opts.push_back("ro");
    user.push_back(mount(mp.destination, "bind", mp.source, opts));
  }
  if (!in.init_binary.empty()) user.push_back(mount(kInitPath, "bind", in.init_binary, {"rbind", "rprivate", "ro"}));
  std::stable_sort(user.begin(), user.end(), [](const oci::Mount& a, const oci::Mount& b) {
    return depth(a.destination) < depth(b.destination);
  });
  for (const auto& m : sys) {
    bool replaced = std::any_of(user.begin(), user.end(), [&](const oci::Mount& u) { return u.destination == m.destination; });
    if (!replaced) s.mounts.push_back(m);
  }
  s.mounts.insert(s.mounts.end(), user.begin(), user.end());

  oci::Linux l;
  l.resources = resources(h);
  l.cgroupsPath = in.cgroups_path.empty() ? "/berth/" + c.id : in.cgroups_path;
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network", "cgroup"}) {
    std::string t = ns;
    if (t == "pid" && h.pid_mode == "host") continue;
    if (t == "ipc" && h.ipc_mode == "host") continue;
    if (t == "uts" && h.uts_mode == "host") continue;
    if (t == "network" && host_net) continue;
    if (t == "cgroup" && h.cgroupns_mode == "host") continue;
    l.namespaces.push_back({t, ""});
  }
  for (const auto& [k, v] : h.sysctls) l.sysctl[k] = v;
  if (!h.privileged && !sec.systempaths_unconfined) {
    l.maskedPaths = h.masked_paths.value_or(default_masked_paths());
    l.readonlyPaths = h.readonly_paths.value_or(default_readonly_paths());
  }
  if (!h.privileged && !sec.seccomp_unconfined) {
    std::string_view profile = sec.seccomp_profile.empty() ? default_seccomp_profile() : std::string_view(sec.seccomp_profile);
    auto sc = resolve_seccomp_profile(profile, caps, in.machine);
    if (!sc) return tl::unexpected(sc.error());
    l.seccomp = std::move(*sc);
  }
  s.linux = std::move(l);
  return s;
}

oci::Process build_exec_process(const ExecProcessInput& in) {
  oci::Process p;
  if (in.container_process) p = *in.container_process;
  p.terminal = in.tty;
  p.consoleSize.reset();
  p.args = in.cmd;
  p.env = merge_env_list(p.env, in.env);
  if (in.tty && !has_env(p.env, "TERM")) p.env.push_back("TERM=xterm");
  if (!in.working_dir.empty()) p.cwd = in.working_dir;
  if (in.uid) {
    p.user.uid = *in.uid;
    p.user.gid = in.gid.value_or(*in.uid);
    p.user.additionalGids = in.additional_gids;
  }
  if (in.privileged) {
    oci::LinuxCapabilities lc;
    lc.bounding = lc.effective = lc.permitted = all_capabilities();
    p.capabilities = lc;
  }
  return p;
}

}  // namespace berth::agent
