#include "plan_builder.h"

#include <fcntl.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>

#include "berth/common/fs.h"
#include "caps.h"
#include "mount_options.h"

namespace berth::runtime {

void CStringArray::assign(std::vector<std::string> values) {
  strings = std::move(values);
  pointers.clear();
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
}

int namespace_flag(const std::string& type) {
  static const std::map<std::string, int> flags = {
      {"pid", CLONE_NEWPID},   {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},    {"ipc", CLONE_NEWIPC},
      {"uts", CLONE_NEWUTS},   {"user", CLONE_NEWUSER},   {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
  };
  auto it = flags.find(type);
  return it == flags.end() ? 0 : it->second;
}

std::string format_id_map(const std::vector<oci::LinuxIDMapping>& maps) {
  std::string out;
  for (const auto& m : maps)
    out += std::to_string(m.containerID) + " " + std::to_string(m.hostID) + " " + std::to_string(m.size) + "\n";
  return out;
}

Result<UniqueFd> make_idmap_userns(const std::vector<oci::LinuxIDMapping>& uids,
                                   const std::vector<oci::LinuxIDMapping>& gids) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return sys_error("pipe for idmap user namespace");
  UniqueFd rd(pipefd[0]), wr(pipefd[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork for idmap user namespace");
  if (pid == 0) {
    // Holds the namespace open until the parent has written the maps and opened it.
    if (::unshare(CLONE_NEWUSER) < 0) ::_exit(1);
    wr.reset();
    char c;
    while (::read(rd.get(), &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  rd.reset();
  auto cleanup = [&] {
    wr.reset();
    ::waitpid(pid, nullptr, 0);
  };
  std::string proc = "/proc/" + std::to_string(pid);
  // Wait until the child has unshared (its user ns differs from ours).
  struct stat ours {}, theirs {};
  ::stat("/proc/self/ns/user", &ours);
  for (int i = 0; i < 1000; ++i) {
    if (::stat((proc + "/ns/user").c_str(), &theirs) == 0 && theirs.st_ino != ours.st_ino) break;
    ::usleep(100);
  }
  if (auto st = fs::write_file(proc + "/uid_map", format_id_map(uids)); !st) {
    cleanup();
    return tl::unexpected(st.error().context("idmapped mount uid map"));
  }
  if (auto st = fs::write_file(proc + "/gid_map", format_id_map(gids)); !st) {
    cleanup();
    return tl::unexpected(st.error().context("idmapped mount gid map"));
  }
  auto fd = fs::open(proc + "/ns/user", O_RDONLY);
  cleanup();
  return fd;
}

namespace {

int rlimit_resource(const std::string& name) {
  static const std::map<std::string, int> table = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},     {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  auto it = table.find(name);
  return it == table.end() ? -1 : it->second;
}

int sched_policy(const std::string& name) {
  static const std::map<std::string, int> table = {
      {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2}, {"SCHED_BATCH", 3},
      {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6},
  };
  auto it = table.find(name);
  return it == table.end() ? -1 : it->second;
}

uint64_t sched_flag(const std::string& name) {
  static const std::map<std::string, uint64_t> table = {
      {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},     {"SCHED_FLAG_DL_OVERRUN", 0x04},
      {"SCHED_FLAG_KEEP_POLICY", 0x08},   {"SCHED_FLAG_KEEP_PARAMS", 0x10}, {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
      {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
  };
  auto it = table.find(name);
  return it == table.end() ? 0 : it->second;
}

HookPlan plan_hook(const oci::Hook& hook) {
  HookPlan h;
  h.path = hook.path;
  h.argv.assign(hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args);
  h.envp.assign(hook.env);
  h.timeout_seconds = hook.timeout.value_or(0);
  return h;
}

struct DefaultDevice {
  const char* path;
  unsigned major, minor;
};
constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3}, {"/dev/zero", 1, 5}, {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

}  // namespace

Status plan_process(InitPlan& plan, const oci::Process& p, const oci::Spec& spec, std::vector<std::string>* warnings) {
  plan.argv.assign(p.args);
  plan.envp.assign(p.env);
  plan.path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : p.env)
    if (e.rfind("PATH=", 0) == 0) plan.path_env = e.substr(5);
  plan.cwd = p.cwd.empty() ? "/" : p.cwd;
  plan.uid = p.user.uid;
  plan.gid = p.user.gid;
  plan.additional_gids.assign(p.user.additionalGids.begin(), p.user.additionalGids.end());
  if (p.user.umask) plan.umask = static_cast<mode_t>(*p.user.umask);
  plan.terminal = p.terminal;
  if (p.consoleSize) {
    plan.console_rows = static_cast<unsigned short>(p.consoleSize->height);
    plan.console_cols = static_cast<unsigned short>(p.consoleSize->width);
  }
  plan.cap_last = last_capability();
  if (p.capabilities) {
    const auto& c = *p.capabilities;
    plan.set_caps = true;
    plan.cap_bounding = BERTH_TRY(capability_mask(c.bounding, "process.capabilities.bounding"));
    plan.cap_effective = BERTH_TRY(capability_mask(c.effective, "process.capabilities.effective"));
    plan.cap_permitted = BERTH_TRY(capability_mask(c.permitted, "process.capabilities.permitted"));
    plan.cap_inheritable = BERTH_TRY(capability_mask(c.inheritable, "process.capabilities.inheritable"));
    plan.cap_ambient = BERTH_TRY(capability_mask(c.ambient, "process.capabilities.ambient"));
  }
  plan.rlimits.clear();
  for (size_t i = 0; i < p.rlimits.size(); ++i) {
    int res = rlimit_resource(p.rlimits[i].type);
    if (res < 0)
      return make_error(Errc::invalid_argument, "process.rlimits[" + std::to_string(i) + "].type: unknown rlimit \"" + p.rlimits[i].type + "\"");
    struct rlimit lim {p.rlimits[i].soft, p.rlimits[i].hard};
    plan.rlimits.emplace_back(res, lim);
  }
  plan.no_new_privileges = p.noNewPrivileges;
  plan.oom_score_adj = p.oomScoreAdj;
  if (p.ioPriority) {
    static const std::map<std::string, int> classes = {
        {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT}, {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE}, {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE}};
    auto it = classes.find(p.ioPriority->class_);
    if (it == classes.end())
      return make_error(Errc::invalid_argument, "process.ioPriority.class: unknown class \"" + p.ioPriority->class_ + "\"");
    plan.ioprio = IOPRIO_PRIO_VALUE(it->second, p.ioPriority->priority);
  }
  if (p.scheduler) {
    int policy = sched_policy(p.scheduler->policy);
    if (policy < 0)
      return make_error(Errc::invalid_argument, "process.scheduler.policy: unknown policy \"" + p.scheduler->policy + "\"");
    plan.set_scheduler = true;
    plan.scheduler.policy = static_cast<uint32_t>(policy);
    for (const auto& f : p.scheduler->flags) plan.scheduler.flags |= sched_flag(f);
    plan.scheduler.nice = p.scheduler->nice.value_or(0);
    plan.scheduler.priority = static_cast<uint32_t>(p.scheduler->priority.value_or(0));
    plan.scheduler.runtime = p.scheduler->runtime.value_or(0);
    plan.scheduler.deadline = p.scheduler->deadline.value_or(0);
    plan.scheduler.period = p.scheduler->period.value_or(0);
  }
  if (spec.linux && spec.linux->personality) {
    const auto& pers = *spec.linux->personality;
    if (pers.domain == "LINUX") plan.personality = PER_LINUX;
    else if (pers.domain == "LINUX32") plan.personality = PER_LINUX32;
    else return make_error(Errc::invalid_argument, "linux.personality.domain: unknown domain \"" + pers.domain + "\"");
  }
  if (spec.linux && spec.linux->seccomp) {
    auto program = compile_seccomp(*spec.linux->seccomp, warnings);
    if (!program) return tl::unexpected(program.error());
    plan.seccomp = std::move(*program);
  }
  return ok();
}

Status plan_container(InitPlan& plan, const PlanInputs& in) {
  const oci::Spec& spec = *in.spec;
  const oci::Linux empty_linux;
  const oci::Linux& linux = spec.linux ? *spec.linux : empty_linux;
  plan.rootfs = in.rootfs;
  plan.no_pivot = in.no_pivot;
  plan.preserve_fds = in.preserve_fds;
  plan.readonly_root = spec.root && spec.root->readonly;

  bool new_user = false, new_net = false, new_uts = false;
  std::vector<NsJoin> user_join, other_joins;
  for (size_t i = 0; i < linux.namespaces.size(); ++i) {
    const auto& ns = linux.namespaces[i];
    int flag = namespace_flag(ns.type);
    if (!flag) return make_error(Errc::invalid_argument, "linux.namespaces[" + std::to_string(i) + "].type: unknown namespace \"" + ns.type + "\"");
    if (ns.path.empty()) {
      if (flag == CLONE_NEWCGROUP) plan.new_cgroupns = true;
      else if (flag != CLONE_NEWTIME) plan.clone_flags |= static_cast<unsigned long>(flag);  // time: see the parent
      new_user |= flag == CLONE_NEWUSER;
      new_net |= flag == CLONE_NEWNET;
      new_uts |= flag == CLONE_NEWUTS;
    } else if (flag != CLONE_NEWPID && flag != CLONE_NEWTIME) {
      // pid and time apply to children, so the parent joins those before clone().
      auto fd = fs::open(ns.path, O_RDONLY);
      if (!fd) return tl::unexpected(fd.error().context("linux.namespaces[" + std::to_string(i) + "].path"));
      NsJoin j{flag, std::move(*fd), ns.path};
      (flag == CLONE_NEWUSER ? user_join : other_joins).push_back(std::move(j));
    }
  }
  for (auto& j : user_join) plan.joins.push_back(std::move(j));
  for (auto& j : other_joins) plan.joins.push_back(std::move(j));
  if (!(plan.clone_flags & CLONE_NEWNS))
    return make_error(Errc::invalid_argument, "linux.namespaces: a new mount namespace is required");
  plan.in_user_ns = new_user || !user_join.empty();

  if (!spec.hostname.empty()) {
    if (!new_uts) return make_error(Errc::invalid_argument, "hostname: setting it requires a new uts namespace");
    plan.hostname = spec.hostname;
  }
  if (!spec.domainname.empty()) {
    if (!new_uts) return make_error(Errc::invalid_argument, "domainname: setting it requires a new uts namespace");
    plan.domainname = spec.domainname;
  }

  if (!linux.rootfsPropagation.empty()) {
    auto parsed = parse_mount_options({linux.rootfsPropagation});
    if (!parsed.propagation)
      return make_error(Errc::invalid_argument, "linux.rootfsPropagation: unknown value \"" + linux.rootfsPropagation + "\"");
    plan.rootfs_propagation = parsed.propagation | MS_REC;
  }

  bool dev_tmpfs = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    std::string field = "mounts[" + std::to_string(i) + "]";
    auto opts = parse_mount_options(m.options);
    MountPlan mp;
    mp.destination = m.destination.empty() || m.destination[0] != '/' ? "/" + m.destination : m.destination;
    mp.source = m.source;
    mp.type = m.type;
    mp.flags = opts.flags;
    mp.data = opts.data;
    mp.propagation = opts.propagation;
    mp.bind = opts.bind || m.type == "bind";
    mp.recursive = opts.recursive;
    if (mp.bind) {
      if (!m.source.empty() && m.source[0] != '/') mp.source = spec.root ? in.rootfs + "/../" + m.source : m.source;
      struct stat st {};
      if (::stat(mp.source.c_str(), &st) < 0) return sys_error(field + ".source: cannot use bind source " + m.source);
      mp.target_is_dir = S_ISDIR(st.st_mode);
      mp.type.clear();
      if (opts.idmap || !m.uidMappings.empty() || !m.gidMappings.empty()) {
        auto userns = make_idmap_userns(m.uidMappings, m.gidMappings);
        if (!userns) return tl::unexpected(userns.error().context(field));
        mp.idmap_userns_fd = userns->release();  // owned by the plan until exec (CLOEXEC)
      }
    } else if (m.type == "cgroup" || m.type == "cgroup2") {
      if (in.host_cgroup_v2 || m.type == "cgroup2") {
        mp.type = "cgroup2";
        mp.source = "cgroup2";
      } else {
        // cgroup v1: a tmpfs holding the container's own directory of each hierarchy.
        mp.type = "tmpfs";
        mp.source = "tmpfs";
        mp.data = "mode=755";
        unsigned long ro = mp.flags & MS_RDONLY;
        mp.flags &= ~MS_RDONLY;
        plan.mounts.push_back(mp);
        for (const char* h : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
          std::string host = in.cgroup_mountpoint + "/" + h + in.cgroup_path;
          if (!fs::exists(host)) continue;
          MountPlan sub;
          sub.bind = true;
          sub.source = host;
          sub.destination = mp.destination + "/" + h;
          sub.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | ro;
          plan.mounts.push_back(sub);
        }
        continue;
      }
    } else if (m.type == "sysfs") {
      mp.sysfs_fallback = plan.in_user_ns && !new_net;
    }
    if (mp.destination == "/dev" && m.type == "tmpfs") dev_tmpfs = true;
    plan.mounts.push_back(std::move(mp));
  }

  plan.create_default_devices = dev_tmpfs;
  for (const auto& d : kDefaultDevices) {
    DevicePlan dp;
    dp.path = d.path;
    dp.mode = S_IFCHR | 0666;
    dp.rdev = makedev(d.major, d.minor);
    dp.is_default = true;
    plan.devices.push_back(dp);
  }
  for (size_t i = 0; i < linux.devices.size(); ++i) {
    const auto& d = linux.devices[i];
    DevicePlan dp;
    dp.path = d.path;
    mode_t type = d.type == "b" ? S_IFBLK : d.type == "p" ? S_IFIFO : S_IFCHR;
    dp.mode = type | (d.fileMode ? static_cast<mode_t>(*d.fileMode) & 07777 : 0666);
    dp.rdev = makedev(static_cast<unsigned>(d.major), static_cast<unsigned>(d.minor));
    dp.uid = d.uid.value_or(0);
    dp.gid = d.gid.value_or(0);
    // A spec device with a default's path replaces the default.
    std::erase_if(plan.devices, [&](const DevicePlan& x) { return x.is_default && x.path == d.path; });
    plan.devices.push_back(dp);
  }

  plan.masked_paths = linux.maskedPaths;
  plan.readonly_paths = linux.readonlyPaths;
  for (const auto& [key, value] : linux.sysctl) {
    std::string path = "/proc/sys/";
    for (char c : key) path += c == '.' ? '/' : c;
    if (key.find("..") != std::string::npos || key.empty())
      return make_error(Errc::invalid_argument, "linux.sysctl: invalid key \"" + key + "\"");
    plan.sysctl.emplace_back(path, value);
  }

  if (spec.hooks) {
    for (const auto& h : spec.hooks->createContainer) plan.create_container_hooks.push_back(plan_hook(h));
    for (const auto& h : spec.hooks->startContainer) plan.start_container_hooks.push_back(plan_hook(h));
    plan.have_create_runtime_hooks = !spec.hooks->prestart.empty() || !spec.hooks->createRuntime.empty();
  }
  plan.state_buffer.resize(64 * 1024);

  if (!spec.process) return make_error(Errc::invalid_argument, "process: required to create a container");
  return plan_process(plan, *spec.process, spec, in.warnings);
}

}  // namespace berth::runtime
