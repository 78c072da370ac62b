// `create`: validate, prepare the init plan, clone the init and see it to "ready".
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "cgroup/cgroup.h"
#include "hooks.h"
#include "init/fd_passing.h"
#include "init/plan.h"
#include "unix_socket.h"
#include "plan_builder.h"
#include "runtime.h"

namespace berth::runtime {

namespace {

Status write_pid_file(const std::string& path, pid_t pid) {
  if (path.empty()) return ok();
  return fs::replace_file(path, std::to_string(pid), 0644);
}

// Undoes a half-made container: the init, its cgroup and its state directory.
struct CreateCleanup {
  RuntimePaths paths;
  std::string id;
  pid_t pid = 0;
  cgroup::Manager* cgroup = nullptr;
  bool armed = true;
  ~CreateCleanup() {
    if (!armed) return;
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (cgroup) {
      cgroup->kill_all(SIGKILL);
      cgroup->destroy();
    }
    fs::remove_all(paths.dir(id));
  }
};

Status setup_time_namespace(const oci::Spec& spec) {
  if (!spec.linux) return ok();
  for (const auto& ns : spec.linux->namespaces) {
    if (ns.type != "time") continue;
    if (!ns.path.empty()) {
      auto fd = BERTH_TRY(fs::open(ns.path, O_RDONLY));
      if (::setns(fd.get(), CLONE_NEWTIME) < 0) return sys_error("join time namespace " + ns.path);
      return ok();
    }
    if (::unshare(CLONE_NEWTIME) < 0) return sys_error("create time namespace");
    std::string offsets;
    for (const auto& [clock, off] : spec.linux->timeOffsets)
      offsets += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    if (!offsets.empty()) BERTH_TRY(fs::write_file("/proc/self/timens_offsets", offsets));
  }
  return ok();
}

Status join_pid_namespace(const oci::Spec& spec) {
  if (!spec.linux) return ok();
  for (const auto& ns : spec.linux->namespaces) {
    if (ns.type == "pid" && !ns.path.empty()) {
      auto fd = BERTH_TRY(fs::open(ns.path, O_RDONLY));
      if (::setns(fd.get(), CLONE_NEWPID) < 0) return sys_error("join pid namespace " + ns.path);
    }
  }
  return ok();
}

// Like runc, the devices every container gets (and the spec's own linux.devices) stay usable
// whatever the cgroup device rules say; they come last so they win.
oci::LinuxResources with_container_devices(oci::LinuxResources r, const oci::Spec& spec) {
  if (r.devices.empty()) return r;
  auto allow = [&](const char* type, int64_t major, std::optional<int64_t> minor) {
    oci::LinuxDeviceCgroup d;
    d.allow = true;
    d.type = type;
    d.major = major;
    d.minor = minor;
    d.access = "rwm";
    r.devices.push_back(d);
  };
  for (auto [major, minor] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}}) allow("c", major, minor);
  allow("c", 136, std::nullopt);  // /dev/pts/*
  if (spec.linux) {
    for (const auto& d : spec.linux->devices) allow(d.type == "b" ? "b" : "c", d.major, d.minor);
  }
  return r;
}

Error init_error(const SyncMessage& msg) {
  return Error{Errc::internal, msg.sys_errno, std::string("container init: ") + msg.text};
}

}  // namespace

Result<Runtime::Created> Runtime::create_impl(const CreateOptions& o, bool internal_console) {
  BERTH_TRY(validate_container_id(o.id));
  if (fs::exists(paths_.dir(o.id))) return make_error(Errc::already_exists, "container with id \"" + o.id + "\" already exists");

  char bundle_buf[PATH_MAX];
  if (!::realpath(o.bundle.c_str(), bundle_buf)) return sys_error("bundle " + o.bundle);
  std::string bundle = bundle_buf;
  auto config_text = fs::read_file(bundle + "/config.json");
  if (!config_text) return tl::unexpected(config_text.error().context("bundle"));
  oci::Spec spec = BERTH_TRY(oci::parse_spec(*config_text));
  BERTH_TRY(oci::validate_spec(spec));
  if (!spec.root) return make_error(Errc::invalid_argument, "config.json: root: required");
  std::string rootfs = spec.root->path[0] == '/' ? spec.root->path : bundle + "/" + spec.root->path;
  char rootfs_buf[PATH_MAX];
  struct stat st {};
  if (!::realpath(rootfs.c_str(), rootfs_buf) || ::stat(rootfs_buf, &st) < 0 || !S_ISDIR(st.st_mode))
    return make_error(Errc::invalid_argument, "config.json: root.path: rootfs " + rootfs + " does not exist or is not a directory");
  rootfs = rootfs_buf;

  BERTH_TRY(fs::mkdir_p(paths_.root, 0711));
  if (::mkdir(paths_.dir(o.id).c_str(), 0711) < 0) {
    if (errno == EEXIST) return make_error(Errc::already_exists, "container with id \"" + o.id + "\" already exists");
    return sys_error("create state directory " + paths_.dir(o.id));
  }
  std::unique_ptr<cgroup::Manager> cgroup;  // outlives the cleanup that may destroy it
  CreateCleanup cleanup{paths_, o.id};
  BERTH_TRY(fs::replace_file(paths_.config_file(o.id), *config_text, 0600));

  // cgroup: v2 in the VM, v1 best-effort on hybrid hosts.
  std::string cgroups_path = spec.linux ? spec.linux->cgroupsPath : "";
  cgroup = BERTH_TRY(cgroup::Manager::open(cgroups_path, o.id));
  BERTH_TRY(cgroup->create());
  cleanup.cgroup = cgroup.get();

  if (::mkfifo(paths_.fifo(o.id).c_str(), 0622) < 0) return sys_error("create exec fifo");
  UniqueFd state_dir = BERTH_TRY(fs::open(paths_.dir(o.id), O_PATH | O_DIRECTORY));

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return sys_error("sync socketpair");
  UniqueFd parent_sync(sv[0]), child_sync(sv[1]);

  UniqueFd console, console_peer;
  bool terminal = spec.process && spec.process->terminal;
  if (terminal) {
    if (!o.console_socket.empty()) {
      console = BERTH_TRY(connect_unix(o.console_socket));
    } else if (internal_console) {
      int cs[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cs) < 0) return sys_error("console socketpair");
      console_peer.reset(cs[0]);
      console.reset(cs[1]);
    } else {
      return make_error(Errc::invalid_argument, "process.terminal is true: --console-socket is required");
    }
  }

  InitPlan plan;
  std::vector<std::string> warnings;
  PlanInputs in;
  in.spec = &spec;
  in.rootfs = rootfs;
  in.no_pivot = o.no_pivot;
  in.preserve_fds = o.preserve_fds;
  in.host_cgroup_v2 = cgroup->version() == cgroup::Version::v2;
  in.cgroup_path = cgroup->path();
  in.warnings = &warnings;
  BERTH_TRY(plan_container(plan, in));
  for (const auto& w : warnings) spdlog::warn("{}: {}", o.id, w);
  plan.sync_fd = child_sync.get();
  plan.state_dir_fd = state_dir.get();
  plan.new_session_keyring = !o.no_new_keyring;
  plan.console_socket = console.get();

  BERTH_TRY(setup_time_namespace(spec));
  BERTH_TRY(join_pid_namespace(spec));

  // On cgroup v2 the init is born in its cgroup (CLONE_INTO_CGROUP): no migration, which on
  // most kernels costs an RCU grace period per cgroup.procs write.
  bool born_in_cgroup = false;
  pid_t pid = -1;
  int cgroup_fd = cgroup->version() == cgroup::Version::v2 ? cgroup->open_dir_fd() : -1;
  if (cgroup_fd >= 0) {
    struct clone_args args {};
    args.flags = plan.clone_flags | CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
    pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
    if (pid == 0) run_container_init(plan);
    born_in_cgroup = pid > 0;
    if (pid < 0 && errno != ENOSYS && errno != E2BIG && errno != EINVAL) return sys_error("clone3 container init");
  }
  if (!born_in_cgroup) {
    pid = static_cast<pid_t>(::syscall(SYS_clone, plan.clone_flags | SIGCHLD, nullptr, nullptr, nullptr, 0));
    if (pid < 0) return sys_error("clone container init");
    if (pid == 0) run_container_init(plan);
  }
  cleanup.pid = pid;
  child_sync.reset();
  console.reset();

  if (plan.clone_flags & CLONE_NEWUSER) {
    std::string proc = "/proc/" + std::to_string(pid);
    BERTH_TRY(fs::write_file(proc + "/uid_map", format_id_map(spec.linux->uidMappings)).map_error([](Error e) { return e.context("linux.uidMappings"); }));
    BERTH_TRY(fs::write_file(proc + "/gid_map", format_id_map(spec.linux->gidMappings)).map_error([](Error e) { return e.context("linux.gidMappings"); }));
  }
  if (!born_in_cgroup) BERTH_TRY(cgroup->add_process(pid));
  if (spec.linux && spec.linux->resources) BERTH_TRY(cgroup->apply(with_container_devices(*spec.linux->resources, spec)));

  ContainerState state;
  state.id = o.id;
  state.bundle = bundle;
  state.rootfs = rootfs;
  state.pid = pid;
  state.pid_start_time = process_start_time(pid);
  state.created = now_rfc3339();
  state.annotations = spec.annotations;
  state.cgroup_path = cgroup->path();
  state.cgroup_paths = cgroup->paths();
  for (const auto& w : cgroup->drain_warnings()) spdlog::warn("{}: {}", o.id, w);
  std::string creating = state_json(state, ContainerStatus::creating).dump();

  SyncMessage go{};
  go.type = SyncType::go;
  if (::send(parent_sync.get(), &go, sizeof go, MSG_NOSIGNAL) < 0) return sys_error("signal container init");
  if (::send(parent_sync.get(), creating.data(), creating.size(), MSG_NOSIGNAL) < 0) return sys_error("send state to init");

  for (;;) {
    SyncMessage msg{};
    UniqueFd passed = BERTH_TRY(receive_message(parent_sync.get(), &msg));
    if (msg.type == SyncType::ready) break;
    if (msg.type == SyncType::error) return tl::unexpected(init_error(msg));
    if (msg.type == SyncType::hooks_request) {
      BERTH_TRY(run_hooks(spec.hooks->prestart, creating, "prestart"));
      BERTH_TRY(run_hooks(spec.hooks->createRuntime, creating, "createRuntime"));
      SyncMessage done{};
      done.type = SyncType::hooks_done;
      if (::send(parent_sync.get(), &done, sizeof done, MSG_NOSIGNAL) < 0) return sys_error("resume container init");
    } else if (msg.type == SyncType::seccomp_fd) {
      BERTH_TRY(send_seccomp_listener(*plan.seccomp, passed.get(), creating));
    } else {
      return make_error(Errc::internal, "container init exited during setup");
    }
  }

  BERTH_TRY(save_state(paths_, state));
  BERTH_TRY(write_pid_file(o.pid_file, pid));
  Created created;
  created.pid = pid;
  if (console_peer) {
    char name[64];
    int master = -1;
    if (receive_fd(console_peer.get(), name, sizeof name, &master) < 0) return sys_error("receive the pty master");
    created.console_master.reset(master);
  }
  cleanup.armed = false;
  spdlog::debug("{}: created, init pid {}", o.id, pid);
  return created;
}

Result<pid_t> Runtime::create(const CreateOptions& options) {
  auto created = BERTH_TRY(create_impl(options, /*internal_console=*/false));
  return created.pid;
}

}  // namespace berth::runtime
