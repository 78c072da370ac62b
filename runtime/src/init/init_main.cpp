// The container init: from clone() to execve(). Everything here is allocation-free.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <linux/keyctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "init/init_internal.h"
#include "init/sys.h"

namespace berth::runtime {
namespace init {

[[noreturn]] void fail(const InitPlan& plan, const char* what, int sys_errno, const char* detail) noexcept {
  SyncMessage msg{};
  msg.type = SyncType::error;
  msg.sys_errno = sys_errno;
  size_t len = 0;
  sys::append(msg.text, sizeof msg.text, &len, what);
  if (detail) {
    sys::append(msg.text, sizeof msg.text, &len, " ");
    sys::append(msg.text, sizeof msg.text, &len, detail);
  }
  ::send(plan.sync_fd, &msg, sizeof msg, MSG_NOSIGNAL);
  ::_exit(127);
}

bool send(const InitPlan& plan, SyncType type) noexcept {
  SyncMessage msg{};
  msg.type = type;
  return ::send(plan.sync_fd, &msg, sizeof msg, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof msg);
}

bool receive(const InitPlan& plan, SyncType expected) noexcept {
  SyncMessage msg{};
  ssize_t n;
  do {
    n = ::recv(plan.sync_fd, &msg, sizeof msg, 0);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof msg) && msg.type == expected;
}

// The go-ahead carries the state JSON that in-container hooks read on stdin.
static void receive_go(InitPlan& plan) noexcept {
  SyncMessage msg{};
  ssize_t n;
  do {
    n = ::recv(plan.sync_fd, &msg, sizeof msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof msg) || msg.type != SyncType::go) ::_exit(126);  // runtime gone
  if (!plan.state_buffer.empty()) {
    ssize_t m;
    do {
      m = ::recv(plan.sync_fd, plan.state_buffer.data(), plan.state_buffer.size(), 0);
    } while (m < 0 && errno == EINTR);
    plan.state_length = m > 0 ? static_cast<size_t>(m) : 0;
  }
}

static void join_namespaces(const InitPlan& plan) noexcept {
  for (const auto& join : plan.joins) {
    if (::setns(join.fd.get(), join.nstype) < 0) fail(plan, "join namespace", errno, join.path.c_str());
  }
}

static void wait_for_start(const InitPlan& plan) noexcept {
  // Opening the fifo for writing blocks until `start` opens it for reading. The directory fd
  // was opened before pivot_root, so the host path stays reachable without exposing it.
  UniqueFd fifo(::openat(plan.state_dir_fd, "exec.fifo", O_WRONLY | O_CLOEXEC));
  if (!fifo) fail(plan, "open exec fifo", errno);
  if (!sys::write_all(fifo.get(), "0", 1)) fail(plan, "write exec fifo", errno);
}

}  // namespace init

[[noreturn]] void run_container_init(InitPlan& plan) noexcept {
  using namespace init;
  // A container process must not be able to reach /proc/<init>/exe (the runtime binary) while
  // init still runs our code; non-dumpable denies it. execve resets this for the user process.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  receive_go(plan);
  join_namespaces(plan);
  if (plan.new_cgroupns && ::unshare(CLONE_NEWCGROUP) < 0) fail(plan, "unshare cgroup namespace", errno);
  if (plan.clone_flags & CLONE_NEWUSER) {
    // Become root of the new user namespace (the mapping was written by the parent).
    if (::setresgid(0, 0, 0) < 0) fail(plan, "setresgid(0) in user namespace", errno);
    if (::setresuid(0, 0, 0) < 0) fail(plan, "setresuid(0) in user namespace", errno);
  }
  if (::setsid() < 0 && !plan.terminal) {
    // Already a session leader is fine; anything else is not.
    if (errno != EPERM) fail(plan, "setsid", errno);
  }

  // Early, so createContainer hooks already see the container's names.
  if (plan.hostname && ::sethostname(plan.hostname->data(), plan.hostname->size()) < 0)
    fail(plan, "sethostname", errno);
  if (plan.domainname && ::setdomainname(plan.domainname->data(), plan.domainname->size()) < 0)
    fail(plan, "setdomainname", errno);

  if (plan.clone_flags & CLONE_NEWNS) setup_rootfs(plan);

  if (plan.have_create_runtime_hooks) {
    if (!send(plan, SyncType::hooks_request) || !receive(plan, SyncType::hooks_done)) ::_exit(126);
  }
  run_hooks(plan, plan.create_container_hooks, "createContainer");

  if (plan.clone_flags & CLONE_NEWNS) {
    enter_rootfs(plan);
    finish_rootfs(plan);
  }

  // Keys of the host's session must not be visible to the container. Kernels without keyring
  // support (ENOSYS) and seccomp-denied keyctl are not fatal, as in runc.
  if (plan.new_session_keyring && ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr) < 0 && errno != ENOSYS &&
      errno != EPERM)
    fail(plan, "join a new session keyring", errno);
  setup_console(plan);
  apply_process_attributes(plan);
  drop_privileges(plan);
  prepare_exec(plan);

  if (plan.wait_for_start) {
    // From here init must outlive `create`, which exits once it hears we are ready.
    ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (!send(plan, SyncType::ready)) ::_exit(126);
    wait_for_start(plan);
    run_hooks(plan, plan.start_container_hooks, "startContainer");
  }
  load_late_seccomp(plan);
  exec_process(plan);
}

}  // namespace berth::runtime
