// The container init's work list. Built by the runtime (parent) before clone(), then executed by
// the child with raw system calls only: the child never allocates, it only reads these fields
// (its copy of the parent's memory) and writes into buffers reserved here.
#pragma once

#include <linux/sched.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/unique_fd.h"
#include "seccomp_filter.h"

namespace berth::runtime {

// A NULL-terminated char* array over strings the plan owns.
struct CStringArray {
  std::vector<std::string> strings;
  std::vector<char*> pointers;
  void assign(std::vector<std::string> values);
  char* const* get() const { return pointers.data(); }
};

struct MountPlan {
  std::string source;
  std::string destination;  // absolute, inside the container
  std::string type;         // empty for binds
  std::string data;         // fs-specific options
  unsigned long flags = 0;  // MS_* applied at mount (or remount for binds)
  unsigned long propagation = 0;  // MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE (+ MS_REC)
  bool bind = false;
  bool recursive = false;
  bool target_is_dir = true;
  bool sysfs_fallback = false;  // sysfs may be refused in a user namespace without a netns: rbind /sys
  int idmap_userns_fd = -1;     // >= 0: an idmapped bind via open_tree + mount_setattr
};

struct DevicePlan {
  std::string path;  // absolute in the container
  mode_t mode = 0;   // S_IFCHR | 0666 ...
  dev_t rdev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool is_default = false;  // one of Docker/runc's always-present devices
};

struct HookPlan {
  std::string path;
  CStringArray argv;
  CStringArray envp;
  int timeout_seconds = 0;  // 0: none
};

struct NsJoin {
  int nstype = 0;  // CLONE_NEW*
  UniqueFd fd;
  std::string path;
};

struct InitPlan {
  // Namespaces.
  unsigned long clone_flags = 0;  // without CLONE_NEWCGROUP (unshared after joining the cgroup)
  bool new_cgroupns = false;
  std::vector<NsJoin> joins;  // user first, then the rest; pid/time are joined by the parent

  // Root filesystem.
  std::string rootfs;  // absolute host path
  bool readonly_root = false;
  unsigned long rootfs_propagation = MS_REC | MS_SLAVE;
  bool no_pivot = false;
  std::vector<MountPlan> mounts;
  bool create_default_devices = false;  // /dev is a tmpfs we populate
  std::vector<DevicePlan> devices;
  bool in_user_ns = false;  // mknod is not allowed: bind the host's device nodes instead
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::vector<std::pair<std::string, std::string>> sysctl;  // /proc/sys/… path, value
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;

  // Process.
  CStringArray argv;
  CStringArray envp;
  std::string path_env;  // PATH value used to find argv[0]
  char program[4096] = {};  // argv[0] resolved on PATH by the init
  std::string cwd;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::optional<mode_t> umask;
  bool set_caps = false;
  uint64_t cap_bounding = 0, cap_effective = 0, cap_permitted = 0, cap_inheritable = 0, cap_ambient = 0;
  int cap_last = 40;
  std::vector<std::pair<int, struct rlimit>> rlimits;
  bool no_new_privileges = false;
  std::optional<unsigned long> personality;
  std::optional<int> ioprio;  // IOPRIO_PRIO_VALUE(class, data)
  bool set_scheduler = false;
  struct {
    uint32_t policy = 0;
    uint64_t flags = 0;
    int32_t nice = 0;
    uint32_t priority = 0;
    uint64_t runtime = 0, deadline = 0, period = 0;
  } scheduler;
  std::optional<int> oom_score_adj;
  bool new_session_keyring = true;  // like runc: a fresh keyring per container unless --no-new-keyring
  std::optional<SeccompProgram> seccomp;

  // Terminal.
  bool terminal = false;
  int console_socket = -1;  // the connected --console-socket, or an internal one for `run`
  unsigned short console_rows = 0, console_cols = 0;

  // Descriptors and synchronisation.
  int preserve_fds = 0;  // fds 3 .. 3+n-1 pass through
  int sync_fd = -1;      // child end of the SOCK_SEQPACKET pair with the runtime
  int state_dir_fd = -1; // O_PATH dir holding exec.fifo; survives pivot_root
  bool wait_for_start = true;  // false for `exec`: no fifo

  std::vector<HookPlan> create_container_hooks;
  std::vector<HookPlan> start_container_hooks;
  bool have_create_runtime_hooks = false;  // parent runs them; child waits for the go-ahead
  std::vector<char> state_buffer;          // state JSON for in-container hooks, filled over sync_fd
  size_t state_length = 0;
};

// Messages on the sync socket (SOCK_SEQPACKET keeps them framed).
enum class SyncType : uint32_t {
  go = 1,              // parent → child: maps written, cgroup joined; payload: state JSON
  hooks_request = 2,   // child → parent: namespaces ready, run createRuntime hooks
  hooks_done = 3,      // parent → child
  ready = 4,           // child → parent: waiting for start (or about to exec)
  error = 5,           // child → parent: payload is a ChildError
  seccomp_fd = 6,      // child → parent: notify listener fd attached (SCM_RIGHTS)
};

struct SyncMessage {
  SyncType type;
  int32_t sys_errno;
  char text[500];
};

// Runs in the child after clone(); never returns (execve or _exit).
[[noreturn]] void run_container_init(InitPlan& plan) noexcept;

}  // namespace berth::runtime
