// Shared between the init's allocation-free steps.
#pragma once

#include "init/plan.h"

namespace berth::runtime::init {

// Reports `what` (and errno) to the runtime over the sync socket, then exits the child.
[[noreturn]] void fail(const InitPlan& plan, const char* what, int sys_errno, const char* detail = nullptr) noexcept;
bool send(const InitPlan& plan, SyncType type) noexcept;
bool receive(const InitPlan& plan, SyncType expected) noexcept;

void setup_rootfs(InitPlan& plan) noexcept;          // mounts, devices, before pivot
void enter_rootfs(InitPlan& plan) noexcept;          // pivot_root / chroot
void finish_rootfs(InitPlan& plan) noexcept;         // masked/readonly paths, ro root, propagation, sysctl
void setup_console(InitPlan& plan) noexcept;         // pty and --console-socket
void apply_process_attributes(InitPlan& plan) noexcept;  // rlimits, personality, sched, ioprio, umask
void drop_privileges(InitPlan& plan) noexcept;       // groups, uid/gid, capabilities, early seccomp
void load_late_seccomp(InitPlan& plan) noexcept;     // seccomp under no_new_privs, just before exec
// Fd hygiene, cwd and PATH lookup: done before "ready" so mistakes are create-time errors.
void prepare_exec(InitPlan& plan) noexcept;
void run_hooks(const InitPlan& plan, const std::vector<HookPlan>& hooks, const char* stage) noexcept;
[[noreturn]] void exec_process(InitPlan& plan) noexcept;

}  // namespace berth::runtime::init
