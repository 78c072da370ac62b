// `exec`: a new process inside a running container's namespaces, cgroup and security settings.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "caps.h"
#include "cgroup/cgroup.h"
#include "init/fd_passing.h"
#include "plan_builder.h"
#include "seccomp_filter.h"
#include "state.h"
#include "unix_socket.h"
#include "runtime.h"

namespace berth::runtime {

namespace {

struct NsFile {
  const char* name;
  int flag;
};
// user first: joining it grants the rights to join the others.
constexpr NsFile kNamespaces[] = {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
                                  {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS}};

bool same_namespace(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

Result<oci::Process> exec_process_spec(const ExecOptions& o, const oci::Spec& spec) {
  oci::Process p;
  if (!o.process_file.empty()) {
    std::string text = BERTH_TRY(o.process_file == "-" ? Result<std::string>(std::string(std::istreambuf_iterator<char>(std::cin), {}))
                                                       : fs::read_file(o.process_file));
    p = BERTH_TRY(oci::parse_process(text));
  } else {
    if (o.args.empty()) return make_error(Errc::invalid_argument, "exec: a command is required");
    p = spec.process.value_or(oci::Process{});
    p.args = o.args;
    p.terminal = o.tty;
    p.consoleSize.reset();
  }
  if (!o.cwd.empty()) p.cwd = o.cwd;
  for (const auto& e : o.env) p.env.push_back(e);
  if (!o.user.empty()) {
    auto colon = o.user.find(':');
    try {
      p.user.uid = static_cast<uint32_t>(std::stoul(o.user.substr(0, colon)));
      if (colon != std::string::npos) p.user.gid = static_cast<uint32_t>(std::stoul(o.user.substr(colon + 1)));
    } catch (const std::exception&) {
      return make_error(Errc::invalid_argument, "exec --user: expected uid[:gid], got \"" + o.user + "\"");
    }
  }
  if (!o.additional_gids.empty()) p.user.additionalGids = o.additional_gids;
  if (!o.caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (auto* set : {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted})
      for (const auto& c : o.caps) set->push_back(c);
  }
  if (o.no_new_privs) p.noNewPrivileges = true;
  if (p.args.empty()) return make_error(Errc::invalid_argument, "process.args: must not be empty");
  return p;
}

}  // namespace

Result<int> Runtime::exec(const ExecOptions& o) {
  auto s = BERTH_TRY(load_state(paths_, o.id));
  auto status = current_status(paths_, s);
  if (status != ContainerStatus::running && status != ContainerStatus::created)
    return make_error(Errc::conflict, "cannot exec in a " + std::string(status_name(status)) + " container");
  auto spec = BERTH_TRY(load_saved_config(paths_, o.id));
  oci::Process process = BERTH_TRY(exec_process_spec(o, spec));

  InitPlan plan;
  std::vector<std::string> warnings;
  BERTH_TRY(plan_process(plan, process, spec, &warnings));
  plan.wait_for_start = false;
  plan.new_session_keyring = false;  // exec joins the container's session keyring, as in runc
  plan.preserve_fds = o.preserve_fds;
  std::string proc = "/proc/" + std::to_string(s.pid) + "/ns/";
  for (const auto& ns : kNamespaces) {
    if (same_namespace(proc + ns.name, std::string("/proc/self/ns/") + ns.name)) continue;
    auto fd = fs::open(proc + ns.name, O_RDONLY);
    if (!fd) return tl::unexpected(fd.error().context("exec: container namespace"));
    plan.joins.push_back(NsJoin{ns.flag, std::move(*fd), proc + ns.name});
  }
  // pid and time namespaces apply to children: join them here, before the fork.
  for (const char* name : {"pid", "time"}) {
    std::string path = proc + name;
    if (!fs::exists(path) || same_namespace(path, std::string("/proc/self/ns/") + name)) continue;
    auto fd = BERTH_TRY(fs::open(path, O_RDONLY));
    if (::setns(fd.get(), name[0] == 'p' ? CLONE_NEWPID : CLONE_NEWTIME) < 0) return sys_error(std::string("exec: join ") + name + " namespace");
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return sys_error("sync socketpair");
  UniqueFd parent_sync(sv[0]), child_sync(sv[1]);
  plan.sync_fd = child_sync.get();

  UniqueFd console, console_peer;
  if (process.terminal) {
    if (!o.console_socket.empty()) {
      console = BERTH_TRY(connect_unix(o.console_socket));
    } else if (!o.detach) {
      int cs[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cs) < 0) return sys_error("console socketpair");
      console_peer.reset(cs[0]);
      console.reset(cs[1]);
    } else {
      return make_error(Errc::invalid_argument, "exec --tty with --detach requires --console-socket");
    }
  }
  plan.console_socket = console.get();

  auto cg = open_container_cgroup(s);
  pid_t pid = static_cast<pid_t>(::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (pid < 0) return sys_error("fork exec process");
  if (pid == 0) run_container_init(plan);
  child_sync.reset();
  console.reset();
  if (cg) {
    if (auto r = (*cg)->add_process(pid); !r) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return tl::unexpected(r.error());
    }
  }
  SyncMessage go{};
  go.type = SyncType::go;
  ::send(parent_sync.get(), &go, sizeof go, MSG_NOSIGNAL);
  // The sync socket closes (EOF) when execve succeeds. Before that the process may hand over
  // its seccomp listener (SCMP_ACT_NOTIFY rules), which goes to listenerPath as for the init:
  // dropped, every notified syscall of the exec'd process would fail with ENOSYS.
  for (;;) {
    SyncMessage msg{};
    auto passed = receive_message(parent_sync.get(), &msg);
    if (!passed || static_cast<int>(msg.type) == 0) break;
    if (msg.type == SyncType::error) {
      ::waitpid(pid, nullptr, 0);
      return tl::unexpected(Error{Errc::internal, msg.sys_errno, std::string("exec: ") + msg.text});
    }
    if (msg.type == SyncType::seccomp_fd && plan.seccomp) {
      auto sent = send_seccomp_listener(*plan.seccomp, passed->get(),
                                        state_json(s, ContainerStatus::running).dump(), pid);
      if (!sent) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return tl::unexpected(sent.error().context("exec"));
      }
    }
  }
  if (!o.pid_file.empty()) BERTH_TRY(fs::replace_file(o.pid_file, std::to_string(pid)));
  if (o.detach) return 0;
  UniqueFd master;
  if (console_peer) {
    char name[64];
    int fd = -1;
    if (receive_fd(console_peer.get(), name, sizeof name, &fd) > 0) master.reset(fd);
  }
  return wait_foreground(pid, std::move(master));
}

}  // namespace berth::runtime
