// Docker's container.Config and HostConfig: what POST /containers/create sends, what inspect
// shows, and what config.json stores. Parsed with field-named errors (json_reader.h), written
// back in Docker's shape with Docker's member names.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent {

using StringMap = std::map<std::string, std::string>;

struct HealthConfig {
  std::vector<std::string> test;
  int64_t interval = 0, timeout = 0, start_period = 0, start_interval = 0;  // nanoseconds
  int64_t retries = 0;
};

struct ContainerConfig {
  std::string hostname, domainname, user;
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  std::vector<std::string> exposed_ports;
  bool tty = false, open_stdin = false, stdin_once = false;
  std::vector<std::string> env;
  std::optional<std::vector<std::string>> cmd;
  std::optional<HealthConfig> healthcheck;
  bool args_escaped = false;
  std::string image;
  std::vector<std::string> volumes;
  std::string working_dir;
  std::optional<std::vector<std::string>> entrypoint;
  bool network_disabled = false;
  std::string mac_address;
  std::vector<std::string> on_build;
  StringMap labels;
  std::string stop_signal;
  std::optional<int64_t> stop_timeout;
  std::vector<std::string> shell;
};

struct RestartPolicy {
  std::string name;  // "", "no", "always", "unless-stopped", "on-failure"
  int64_t maximum_retry_count = 0;
};

struct MountSpec {  // HostConfig.Mounts[]
  std::string type;  // bind, volume, tmpfs
  std::string source, target;
  bool read_only = false;
  std::string consistency;
  // BindOptions
  std::string propagation;
  bool create_mountpoint = false;
  bool non_recursive = false;
  // VolumeOptions
  bool no_copy = false;
  StringMap volume_labels;
  std::string volume_driver;
  StringMap volume_driver_options;
  std::string subpath;
  // TmpfsOptions
  int64_t tmpfs_size = 0;
  uint32_t tmpfs_mode = 0;
};

struct Ulimit {
  std::string name;
  int64_t soft = 0, hard = 0;
};

struct DeviceMapping {
  std::string path_on_host, path_in_container, cgroup_permissions;
};

struct LogConfig {
  std::string type = "json-file";
  StringMap config;
};

struct HostConfig {
  std::vector<std::string> binds;
  std::string container_id_file;
  LogConfig log_config;
  std::string network_mode;
  Json port_bindings = Json::object();
  RestartPolicy restart_policy;
  bool auto_remove = false;
  std::string volume_driver;
  std::vector<std::string> volumes_from;
  std::vector<int64_t> console_size = {0, 0};
  StringMap annotations;
  std::vector<std::string> cap_add, cap_drop;
  std::string cgroupns_mode;
  std::vector<std::string> dns, dns_options, dns_search, extra_hosts, group_add;
  std::string ipc_mode, cgroup, pid_mode, uts_mode, userns_mode, cgroup_parent, runtime, isolation;
  std::vector<std::string> links;
  int64_t oom_score_adj = 0;
  bool privileged = false, publish_all_ports = false, readonly_rootfs = false;
  std::vector<std::string> security_opt;
  StringMap storage_opt, tmpfs, sysctls;
  int64_t shm_size = 0;
  // Resources
  int64_t cpu_shares = 0, memory = 0, nano_cpus = 0, cpu_period = 0, cpu_quota = 0, cpu_realtime_period = 0,
          cpu_realtime_runtime = 0, memory_reservation = 0, memory_swap = 0, kernel_memory = 0;
  std::optional<int64_t> memory_swappiness;
  std::optional<int64_t> pids_limit;
  std::optional<bool> oom_kill_disable;
  int64_t blkio_weight = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::vector<DeviceMapping> devices;
  std::vector<std::string> device_cgroup_rules;
  std::vector<Ulimit> ulimits;
  std::vector<MountSpec> mounts;
  std::optional<bool> init;
  std::optional<std::vector<std::string>> masked_paths, readonly_paths;
};

// Parse from a request body or config.json. Errors are Errc::invalid_argument naming the
// member: "HostConfig.Memory: expected integer, got string".
Result<ContainerConfig> parse_container_config(const Json& j, const std::string& path = "");
Result<HostConfig> parse_host_config(const Json& j, const std::string& path = "HostConfig");
Result<MountSpec> parse_mount_spec(const Json& j, const std::string& path);

Json to_json(const ContainerConfig& c);
Json to_json(const HostConfig& h);
Json to_json(const MountSpec& m);
Json to_json(const HealthConfig& h);

// Restart policy names Docker accepts; Errc::invalid_argument otherwise (dockerd's messages).
Status validate_restart_policy(const RestartPolicy& p, bool auto_remove);

}  // namespace berth::agent
