// Control groups for berth-runtime: one Manager per container cgroup, for cgroup v2
// (berth's guest, fully supported) and v1 (hybrid Linux hosts in native mode, best effort).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::runtime::cgroup {

enum class Version { v1, v2 };

std::string_view version_name(Version version);

// Reported for a limit that is not set ("max" on v2, -1 or the huge page-rounded default on v1).
inline constexpr uint64_t kUnlimited = UINT64_MAX;

struct IoStat {
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_ios = 0;
  uint64_t write_ios = 0;
};

// Counters a controller does not provide stay 0; limits that are not set are kUnlimited.
struct Stats {
  uint64_t memory_usage = 0;
  uint64_t memory_limit = 0;
  uint64_t memory_max_usage = 0;  // v2: memory.peak (kernel >= 5.19), else 0
  uint64_t cpu_usage_ns = 0;
  uint64_t cpu_user_ns = 0;
  uint64_t cpu_system_ns = 0;
  uint64_t pids_current = 0;
  uint64_t pids_limit = 0;
  std::map<std::string, uint64_t> memory_stat;  // memory.stat as the kernel names it
  std::map<std::string, IoStat> io;             // keyed "major:minor"
};

struct Options {
  std::string mountpoint = "/sys/fs/cgroup";
  // Skips detection; tests set it and point `mountpoint` at a fake tree.
  std::optional<Version> force_version;
  // Where relative cgroupsPaths are resolved from; tests substitute a fake file.
  std::string proc_self_cgroup = "/proc/self/cgroup";
  // v1 only: hierarchy → path, as returned by Manager::paths() when the container was created.
  // Persisted state reopens with these so that relative cgroupsPaths resolve exactly as they
  // did for `create`, whatever cgroups the later runtime invocation runs in.
  std::map<std::string, std::string> v1_paths;
  // Leaves device access alone: for callers that control devices some other way, and for
  // fake trees, where a BPF program cannot be attached.
  bool skip_devices = false;
  // freeze() gives up (and thaws again) after this long.
  int freeze_timeout_ms = 10000;
  // destroy() retries rmdir this long while the last processes exit.
  int destroy_timeout_ms = 5000;
  // Called after every successful write to a cgroup file, with the file's full path. Files
  // written more than once (v1 devices.allow, subtree_control, io.max) can only be checked
  // this way on a fake tree.
  std::function<void(const std::string& file, const std::string& value)> on_write;
};

// Paths are relative to the cgroup root of the hierarchy and start with "/"
// ("/berth/abc"). Every method but open() touches the filesystem only when called.
class Manager {
 public:
  virtual ~Manager() = default;

  // cgroups_path is the spec's linux.cgroupsPath: "" → "/berth/<container_id>"; absolute →
  // relative to the cgroup root; relative → relative to the runtime's own cgroup, like runc
  // (on v2 to the parent of it, since a cgroup with processes cannot delegate controllers).
  // ".." components are rejected, so the result never leaves the mountpoint. The version
  // is detected from the mountpoint's filesystem type unless options.force_version is set.
  static Result<std::unique_ptr<Manager>> open(const std::string& cgroups_path,
                                               const std::string& container_id,
                                               const Options& options = {});

  virtual Version version() const = 0;
  // The resolved path, persisted in the runtime state. On v1 it is the path in the first
  // hierarchy; paths() has them all (they differ only for relative cgroupsPaths when the
  // runtime's own cgroups differ between hierarchies).
  virtual std::string path() const = 0;
  // v1: hierarchy directory name ("memory", "cpu,cpuacct", "systemd") → path. v2: {"": path}.
  virtual std::map<std::string, std::string> paths() const = 0;

  // mkdir -p. v2: enables every available controller in each ancestor's
  // cgroup.subtree_control. v1: in every mounted hierarchy; copies cpuset.cpus/mems down
  // into new cpuset cgroups, which start empty and would refuse processes.
  virtual Status create() = 0;
  // Writes cgroup.procs (v1: in every hierarchy).
  virtual Status add_process(pid_t pid) = 0;
  // Used by create and by `update`; only the fields present are written, and an empty
  // `devices` leaves the device rules alone. Invalid values are Errc::invalid_argument naming
  // the field. Knobs the kernel does not offer: v2 → an error naming the field; v1 → a
  // warning (see drain_warnings()) and the rest is still applied.
  virtual Status apply(const oci::LinuxResources& resources) = 0;
  // Return once the kernel reports the cgroup frozen/thawed (v2 cgroup.events "frozen",
  // v1 freezer.state), or time out.
  virtual Status freeze() = 0;
  virtual Status thaw() = 0;
  virtual Result<bool> frozen() = 0;
  // Every process in the cgroup and its descendants, sorted.
  virtual Result<std::vector<pid_t>> pids() = 0;
  virtual Result<Stats> stats() = 0;
  // SIGKILL on v2 with cgroup.kill (kernel >= 5.14): one write. Otherwise signals every
  // process, inside freeze/thaw for SIGKILL so nothing forks past it.
  virtual Status kill_all(int sig) = 0;
  // Removes the cgroup and any child cgroups (deepest first), retrying while processes
  // exit. A missing cgroup is not an error.
  virtual Status destroy() = 0;
  // v2: an O_PATH|O_DIRECTORY|O_CLOEXEC fd of the cgroup directory, for clone3's
  // CLONE_INTO_CGROUP; opened on first call after create() and owned by the Manager
  // (do not close it; it stays valid until destroy() or the Manager goes away).
  // -1 on v1 or if the directory cannot be opened.
  virtual int open_dir_fd() = 0;

  // Warnings collected since the last call: v1 knobs that could not be applied, controllers
  // that could not be enabled. Not logged here; the caller logs or prints them with the
  // container id.
  std::vector<std::string> drain_warnings();

 protected:
  void warn(std::string message);

 private:
  std::vector<std::string> warnings_;
};

}  // namespace berth::runtime::cgroup
