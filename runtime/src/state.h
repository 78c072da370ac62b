// Container state on disk: <root>/<id>/state.json (+ config.json, exec.fifo). The state file
// is what every later command (and a restarted engine) trusts, so it is written atomically.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::runtime {

enum class ContainerStatus { creating, created, running, paused, stopped };
std::string_view status_name(ContainerStatus s);

struct ContainerState {
  std::string id;
  std::string bundle;
  std::string rootfs;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: guards against pid reuse
  std::string created;          // RFC 3339 with nanoseconds, UTC
  std::string owner;
  oci::StringMap annotations;
  std::string cgroup_path;
  std::string cgroup_mountpoint = "/sys/fs/cgroup";
  std::map<std::string, std::string> cgroup_paths;  // v1: hierarchy → path, as created
};

// Reopens the container's cgroup exactly as `create` resolved it.
namespace cgroup { class Manager; }
Result<std::unique_ptr<cgroup::Manager>> open_container_cgroup(const ContainerState& state);

struct RuntimePaths {
  std::string root;  // --root
  std::string dir(const std::string& id) const { return root + "/" + id; }
  std::string state_file(const std::string& id) const { return dir(id) + "/state.json"; }
  std::string config_file(const std::string& id) const { return dir(id) + "/config.json"; }
  std::string fifo(const std::string& id) const { return dir(id) + "/exec.fifo"; }
};

Status validate_container_id(const std::string& id);
Status save_state(const RuntimePaths& paths, const ContainerState& state);
Result<ContainerState> load_state(const RuntimePaths& paths, const std::string& id);
Result<oci::Spec> load_saved_config(const RuntimePaths& paths, const std::string& id);
std::vector<std::string> list_ids(const RuntimePaths& paths);

// Live status: process alive (same start time) → fifo present ? created : (frozen ? paused : running).
ContainerStatus current_status(const RuntimePaths& paths, const ContainerState& state);
uint64_t process_start_time(pid_t pid);  // 0 if gone
bool process_alive(pid_t pid, uint64_t start_time);

// The state JSON of the runtime spec (what `state` prints and hooks read on stdin).
OrderedJson state_json(const ContainerState& state, ContainerStatus status);
std::string now_rfc3339();

}  // namespace berth::runtime
