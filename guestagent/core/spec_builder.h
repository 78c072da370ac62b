// The OCI runtime spec for a container, from its Docker config and image, with dockerd's
// defaults: capabilities, masked/read-only paths, the default seccomp profile, /dev as tmpfs
// with /dev/pts, /dev/shm and /dev/mqueue, read-only /sys and /sys/fs/cgroup, /proc, the
// per-container /etc/hosts, /etc/hostname and /etc/resolv.conf, namespaces and resources.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"
#include "container.h"

namespace berth::agent {

// Where dockerd mounts its init (tini) in the container.
inline constexpr const char* kInitPath = "/sbin/docker-init";
inline constexpr const char* kDefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr int64_t kDefaultShmSize = 64 * 1024 * 1024;

struct SecurityOptions {
  bool seccomp_unconfined = false;
  std::string seccomp_profile;  // a JSON profile given inline; empty: the default
  bool no_new_privileges = false;
  bool systempaths_unconfined = false;  // no masked/read-only paths
};

// --security-opt values; Errc::invalid_argument: Invalid --security-opt: "…".
Result<SecurityOptions> parse_security_options(const std::vector<std::string>& opts);

struct SpecInput {
  const Container* container = nullptr;
  std::string rootfs;  // absolute path of the mounted root file system
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string init_binary;  // host path of docker-init/tini; empty: no init
  std::string machine = "x86_64";
  std::string cgroups_path;  // default "/berth/<id>"
};

Result<oci::Spec> build_spec(const SpecInput& in);

// The process of an exec: the container's user, env and capabilities with the exec's
// overrides (Docker's ExecConfig fields).
struct ExecProcessInput {
  const oci::Process* container_process = nullptr;  // from the container's spec
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  bool tty = false;
  bool privileged = false;
  std::optional<uint32_t> uid, gid;  // from ExecConfig.User, resolved by the caller
  std::vector<uint32_t> additional_gids;
};
oci::Process build_exec_process(const ExecProcessInput& in);

// `env` with `overrides` applied by variable name, order kept; entries without '=' in
// overrides are dropped as dockerd does for unset variables.
std::vector<std::string> merge_env_list(const std::vector<std::string>& env, const std::vector<std::string>& overrides);

}  // namespace berth::agent
