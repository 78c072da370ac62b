// Turns a validated runtime spec into the init's allocation-free work list.
#pragma once

#include <string>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"
#include "init/plan.h"

namespace berth::runtime {

struct PlanInputs {
  const oci::Spec* spec = nullptr;
  std::string rootfs;       // absolute
  bool no_pivot = false;
  int preserve_fds = 0;
  bool host_cgroup_v2 = true;
  std::string cgroup_path;  // relative to the cgroup root, for the v1 cgroup mount
  std::string cgroup_mountpoint = "/sys/fs/cgroup";
  std::vector<std::string>* warnings = nullptr;
};

// Process-level parts shared by create and exec.
Status plan_process(InitPlan& plan, const oci::Process& process, const oci::Spec& spec,
                    std::vector<std::string>* warnings);
// Everything for a new container (namespaces, mounts, devices, hooks, process).
Status plan_container(InitPlan& plan, const PlanInputs& in);

int namespace_flag(const std::string& type);  // CLONE_NEW*; 0 if unknown

// A user namespace holding the mount's mappings, for mount_setattr(MOUNT_ATTR_IDMAP).
Result<UniqueFd> make_idmap_userns(const std::vector<oci::LinuxIDMapping>& uids,
                                   const std::vector<oci::LinuxIDMapping>& gids);
std::string format_id_map(const std::vector<oci::LinuxIDMapping>& maps);

}  // namespace berth::runtime
