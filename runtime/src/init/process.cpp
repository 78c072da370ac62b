// Per-process attributes and the privilege drop, in the order the kernel requires:
// rlimits/personality/scheduling first, then groups → gid → uid (keeping caps) → capability sets,
// with seccomp loaded while it still may be (before the drop, unless no_new_privs covers it).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "init/fd_passing.h"
#include "init/init_internal.h"
#include "init/sys.h"

namespace berth::runtime::init {

namespace {

struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

void load_seccomp(InitPlan& plan) {
  if (!plan.seccomp) return;
  int rc = install_seccomp(*plan.seccomp);
  if (rc < 0) fail(plan, "load seccomp filter", -rc);
  if (plan.seccomp->has_notify && rc > 0) {
    // Hand the listener to the runtime, which forwards it to listenerPath.
    SyncMessage body{};
    body.type = SyncType::seccomp_fd;
    if (!send_fd(plan.sync_fd, rc, &body, sizeof body)) fail(plan, "send seccomp listener", errno);
    UniqueFd listener(rc);
  }
}

}  // namespace

void apply_process_attributes(InitPlan& plan) noexcept {
  for (const auto& [resource, limit] : plan.rlimits) {
    if (::setrlimit(static_cast<__rlimit_resource>(resource), &limit) < 0) fail(plan, "setrlimit", errno);
  }
  if (plan.oom_score_adj) {
    char value[24];
    sys::format_uint(value, sizeof value, static_cast<unsigned long long>(*plan.oom_score_adj < 0 ? -*plan.oom_score_adj : *plan.oom_score_adj));
    UniqueFd fd(::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC));
    if (!fd) fail(plan, "open oom_score_adj", errno);
    if ((*plan.oom_score_adj < 0 && !sys::write_all(fd.get(), "-", 1)) || !sys::write_all(fd.get(), value, std::strlen(value)))
      fail(plan, "write oom_score_adj", errno);
  }
  if (plan.personality && ::personality(*plan.personality) < 0) fail(plan, "personality", errno);
  if (plan.ioprio && ::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, *plan.ioprio) < 0) fail(plan, "ioprio_set", errno);
  if (plan.set_scheduler) {
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = plan.scheduler.policy;
    attr.sched_flags = plan.scheduler.flags;
    attr.sched_nice = plan.scheduler.nice;
    attr.sched_priority = plan.scheduler.priority;
    attr.sched_runtime = plan.scheduler.runtime;
    attr.sched_deadline = plan.scheduler.deadline;
    attr.sched_period = plan.scheduler.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0) fail(plan, "sched_setattr", errno);
  }
  if (plan.umask) ::umask(*plan.umask);
}

void drop_privileges(InitPlan& plan) noexcept {
  if (plan.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(plan, "set no_new_privs", errno);
  if (!plan.no_new_privileges) load_seccomp(plan);

  if (plan.set_caps) {
    // The bounding set can only shrink while we still hold CAP_SETPCAP, i.e. before setuid.
    for (int cap = 0; cap <= plan.cap_last; ++cap) {
      if (!(plan.cap_bounding & (1ULL << cap)) && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
        fail(plan, "drop bounding capability", errno);
    }
  }
  // setgroups is denied in user namespaces whose gid_map was written after "deny".
  if (::setgroups(plan.additional_gids.size(), plan.additional_gids.data()) < 0 && errno != EPERM)
    fail(plan, "setgroups", errno);
  if (plan.set_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(plan, "keep capabilities", errno);
  if (::setresgid(plan.gid, plan.gid, plan.gid) < 0) fail(plan, "setresgid", errno);
  if (::setresuid(plan.uid, plan.uid, plan.uid) < 0) fail(plan, "setresuid", errno);

  if (plan.set_caps) {
    struct __user_cap_header_struct header {};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    struct __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
      data[i].effective = static_cast<uint32_t>(plan.cap_effective >> (32 * i));
      data[i].permitted = static_cast<uint32_t>(plan.cap_permitted >> (32 * i));
      data[i].inheritable = static_cast<uint32_t>(plan.cap_inheritable >> (32 * i));
    }
    if (::syscall(SYS_capset, &header, data) < 0) fail(plan, "capset", errno);
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    // The kernel only allows ambient capabilities that are permitted and inheritable; like
    // runc, others listed in the spec are left out rather than failing the container.
    uint64_t ambient = plan.cap_ambient & plan.cap_permitted & plan.cap_inheritable;
    for (int cap = 0; cap <= plan.cap_last; ++cap) {
      if ((ambient & (1ULL << cap)) && ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        fail(plan, "raise ambient capability", errno);
    }
  }
}

void load_late_seccomp(InitPlan& plan) noexcept {
  // With no_new_privs the filter needs no privilege, so it goes on last and the init's own
  // remaining syscalls are not subject to it.
  if (plan.no_new_privileges) load_seccomp(plan);
}

}  // namespace berth::runtime::init
