#include "container_config.h"

#include "json_reader.h"

namespace berth::agent {

namespace {

HealthConfig read_health(const ObjectReader& r) {
  HealthConfig h;
  h.test = r.strings("Test");
  h.interval = r.int64("Interval");
  h.timeout = r.int64("Timeout");
  h.start_period = r.int64("StartPeriod");
  h.start_interval = r.int64("StartInterval");
  h.retries = r.int64("Retries");
  return h;
}

ContainerConfig read_config(const ObjectReader& r) {
  ContainerConfig c;
  c.hostname = r.str("Hostname");
  c.domainname = r.str("Domainname");
  c.user = r.str("User");
  c.attach_stdin = r.boolean("AttachStdin");
  c.attach_stdout = r.boolean("AttachStdout");
  c.attach_stderr = r.boolean("AttachStderr");
  c.exposed_ports = r.keys("ExposedPorts");
  c.tty = r.boolean("Tty");
  c.open_stdin = r.boolean("OpenStdin");
  c.stdin_once = r.boolean("StdinOnce");
  c.env = r.strings("Env");
  c.cmd = r.strslice("Cmd");
  if (r.has("Healthcheck")) c.healthcheck = read_health(r.object("Healthcheck"));
  c.args_escaped = r.boolean("ArgsEscaped");
  c.image = r.str("Image");
  c.volumes = r.keys("Volumes");
  c.working_dir = r.str("WorkingDir");
  c.entrypoint = r.strslice("Entrypoint");
  c.network_disabled = r.boolean("NetworkDisabled");
  c.mac_address = r.str("MacAddress");
  c.on_build = r.strings("OnBuild");
  c.labels = r.string_map("Labels");
  c.stop_signal = r.str("StopSignal");
  c.stop_timeout = r.opt_int64("StopTimeout");
  c.shell = r.strings("Shell");
  for (size_t i = 0; i < c.env.size(); ++i)
    if (c.env[i].empty() || c.env[i].front() == '=')
      throw JsonFieldError(r.child_path("Env") + "[" + std::to_string(i) + "]", "invalid environment variable: \"" + c.env[i] + "\"");
  return c;
}

MountSpec read_mount(const ObjectReader& r) {
  MountSpec m;
  m.type = r.str("Type");
  m.source = r.str("Source");
  m.target = r.str("Target");
  m.read_only = r.boolean("ReadOnly");
  m.consistency = r.str("Consistency");
  auto b = r.object("BindOptions");
  m.propagation = b.str("Propagation");
  m.create_mountpoint = b.boolean("CreateMountpoint");
  m.non_recursive = b.boolean("NonRecursive");
  auto v = r.object("VolumeOptions");
  m.no_copy = v.boolean("NoCopy");
  m.volume_labels = v.string_map("Labels");
  m.subpath = v.str("Subpath");
  auto d = v.object("DriverConfig");
  m.volume_driver = d.str("Name");
  m.volume_driver_options = d.string_map("Options");
  auto t = r.object("TmpfsOptions");
  m.tmpfs_size = t.int64("SizeBytes");
  int64_t mode = t.int64("Mode");
  if (mode < 0 || mode > 07777) throw JsonFieldError(t.child_path("Mode"), "invalid file mode");
  m.tmpfs_mode = static_cast<uint32_t>(mode);
  return m;
}

HostConfig read_host(const ObjectReader& r) {
  HostConfig h;
  h.binds = r.strings("Binds");
  h.container_id_file = r.str("ContainerIDFile");
  auto lc = r.object("LogConfig");
  h.log_config.type = lc.str("Type", "json-file");
  if (h.log_config.type.empty()) h.log_config.type = "json-file";
  h.log_config.config = lc.string_map("Config");
  h.network_mode = r.str("NetworkMode");
  if (const Json* pb = r.get("PortBindings")) {
    if (!pb->is_object()) throw JsonFieldError(r.child_path("PortBindings"), "expected object, got " + std::string(json_type_name(*pb)));
    h.port_bindings = *pb;
  }
  auto rp = r.object("RestartPolicy");
  h.restart_policy.name = rp.str("Name");
  h.restart_policy.maximum_retry_count = rp.int64("MaximumRetryCount");
  h.auto_remove = r.boolean("AutoRemove");
  h.volume_driver = r.str("VolumeDriver");
  h.volumes_from = r.strings("VolumesFrom");
  if (const Json* cs = r.get("ConsoleSize")) {
    if (!cs->is_array() || cs->size() != 2 || !(*cs)[0].is_number_integer() || !(*cs)[1].is_number_integer())
      throw JsonFieldError(r.child_path("ConsoleSize"), "expected [height, width]");
    h.console_size = {(*cs)[0].get<int64_t>(), (*cs)[1].get<int64_t>()};
  }
  h.annotations = r.string_map("Annotations");
  h.cap_add = r.strings("CapAdd");
  h.cap_drop = r.strings("CapDrop");
  h.cgroupns_mode = r.str("CgroupnsMode");
  h.dns = r.strings("Dns");
  h.dns_options = r.strings("DnsOptions");
  h.dns_search = r.strings("DnsSearch");
  h.extra_hosts = r.strings("ExtraHosts");
  h.group_add = r.strings("GroupAdd");
  h.ipc_mode = r.str("IpcMode");
  h.cgroup = r.str("Cgroup");
  h.links = r.strings("Links");
  h.oom_score_adj = r.int64("OomScoreAdj");
  h.pid_mode = r.str("PidMode");
  h.privileged = r.boolean("Privileged");
  h.publish_all_ports = r.boolean("PublishAllPorts");
  h.readonly_rootfs = r.boolean("ReadonlyRootfs");
  h.security_opt = r.strings("SecurityOpt");
  h.storage_opt = r.string_map("StorageOpt");
  h.tmpfs = r.string_map("Tmpfs");
  h.uts_mode = r.str("UTSMode");
  h.userns_mode = r.str("UsernsMode");
  h.shm_size = r.int64("ShmSize");
  h.sysctls = r.string_map("Sysctls");
  h.runtime = r.str("Runtime");
  h.isolation = r.str("Isolation");
  h.cpu_shares = r.int64("CpuShares");
  h.memory = r.int64("Memory");
  h.nano_cpus = r.int64("NanoCpus");
  h.cgroup_parent = r.str("CgroupParent");
  h.blkio_weight = r.int64("BlkioWeight");
  h.cpu_period = r.int64("CpuPeriod");
  h.cpu_quota = r.int64("CpuQuota");
  h.cpu_realtime_period = r.int64("CpuRealtimePeriod");
  h.cpu_realtime_runtime = r.int64("CpuRealtimeRuntime");
  h.cpuset_cpus = r.str("CpusetCpus");
  h.cpuset_mems = r.str("CpusetMems");
  for (auto& d : r.objects("Devices"))
    h.devices.push_back({d.str("PathOnHost"), d.str("PathInContainer"), d.str("CgroupPermissions")});
  h.device_cgroup_rules = r.strings("DeviceCgroupRules");
  h.kernel_memory = r.int64("KernelMemory");
  h.memory_reservation = r.int64("MemoryReservation");
  h.memory_swap = r.int64("MemorySwap");
  h.memory_swappiness = r.opt_int64("MemorySwappiness");
  h.oom_kill_disable = r.opt_bool("OomKillDisable");
  h.pids_limit = r.opt_int64("PidsLimit");
  for (auto& u : r.objects("Ulimits")) h.ulimits.push_back({u.str("Name"), u.int64("Soft"), u.int64("Hard")});
  for (auto& m : r.objects("Mounts")) h.mounts.push_back(read_mount(m));
  h.init = r.opt_bool("Init");
  if (r.has("MaskedPaths")) h.masked_paths = r.strings("MaskedPaths");
  if (r.has("ReadonlyPaths")) h.readonly_paths = r.strings("ReadonlyPaths");

  // Values dockerd refuses at create (daemon/container.go, verifyPlatformContainerSettings).
  if (h.memory < 0) throw JsonFieldError(r.child_path("Memory"), "must not be negative");
  if (h.memory > 0 && h.memory < 6 * 1024 * 1024)
    throw JsonFieldError(r.child_path("Memory"), "Minimum memory limit allowed is 6MB");
  if (h.memory_swap > 0 && h.memory > 0 && h.memory_swap < h.memory)
    throw JsonFieldError(r.child_path("MemorySwap"),
                         "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (h.memory_swappiness && (*h.memory_swappiness < -1 || *h.memory_swappiness > 100))
    throw JsonFieldError(r.child_path("MemorySwappiness"), "Invalid value: " + std::to_string(*h.memory_swappiness) +
                                                               ", valid memory swappiness range is 0-100");
  if (h.nano_cpus < 0) throw JsonFieldError(r.child_path("NanoCpus"), "must not be negative");
  if (h.nano_cpus > 0 && (h.cpu_period > 0 || h.cpu_quota > 0))
    throw JsonFieldError(r.child_path("NanoCpus"), "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (h.cpu_shares < 0) throw JsonFieldError(r.child_path("CpuShares"), "must not be negative");
  if (h.shm_size < 0) throw JsonFieldError(r.child_path("ShmSize"), "SHM size can not be less than 0");
  if (h.oom_score_adj < -1000 || h.oom_score_adj > 1000)
    throw JsonFieldError(r.child_path("OomScoreAdj"), "Invalid value " + std::to_string(h.oom_score_adj) +
                                                          ", range for oom score adj is [-1000, 1000]");
  if (h.blkio_weight != 0 && (h.blkio_weight < 10 || h.blkio_weight > 1000))
    throw JsonFieldError(r.child_path("BlkioWeight"), "Range of blkio weight is from 10 to 1000");
  for (size_t i = 0; i < h.ulimits.size(); ++i)
    if (h.ulimits[i].soft > h.ulimits[i].hard && h.ulimits[i].hard >= 0)
      throw JsonFieldError(r.child_path("Ulimits") + "[" + std::to_string(i) + "]",
                           "ulimit soft limit must be less than or equal to hard limit: " +
                               std::to_string(h.ulimits[i].soft) + " > " + std::to_string(h.ulimits[i].hard));
  return h;
}

Json string_map_json(const StringMap& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

Json set_json(const std::vector<std::string>& keys) {
  Json j = Json::object();
  for (const auto& k : keys) j[k] = Json::object();
  return j;
}

Json strings_or_null(const std::vector<std::string>& v) { return v.empty() ? Json(nullptr) : Json(v); }

}  // namespace

Result<ContainerConfig> parse_container_config(const Json& j, const std::string& path) {
  return read_boundary([&] { return read_config(ObjectReader(j, path)); });
}

Result<HostConfig> parse_host_config(const Json& j, const std::string& path) {
  return read_boundary([&] { return read_host(ObjectReader(j, path)); });
}

Result<MountSpec> parse_mount_spec(const Json& j, const std::string& path) {
  return read_boundary([&] { return read_mount(ObjectReader(j, path)); });
}

Json to_json(const HealthConfig& h) {
  Json j = Json::object();
  j["Test"] = h.test;
  if (h.interval) j["Interval"] = h.interval;
  if (h.timeout) j["Timeout"] = h.timeout;
  if (h.start_period) j["StartPeriod"] = h.start_period;
  if (h.start_interval) j["StartInterval"] = h.start_interval;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

Json to_json(const ContainerConfig& c) {
  Json j = Json::object();
  j["Hostname"] = c.hostname;
  j["Domainname"] = c.domainname;
  j["User"] = c.user;
  j["AttachStdin"] = c.attach_stdin;
  j["AttachStdout"] = c.attach_stdout;
  j["AttachStderr"] = c.attach_stderr;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = set_json(c.exposed_ports);
  j["Tty"] = c.tty;
  j["OpenStdin"] = c.open_stdin;
  j["StdinOnce"] = c.stdin_once;
  j["Env"] = strings_or_null(c.env);
  j["Cmd"] = c.cmd ? Json(*c.cmd) : Json(nullptr);
  if (c.healthcheck) j["Healthcheck"] = to_json(*c.healthcheck);
  if (c.args_escaped) j["ArgsEscaped"] = true;
  j["Image"] = c.image;
  j["Volumes"] = c.volumes.empty() ? Json(nullptr) : set_json(c.volumes);
  j["WorkingDir"] = c.working_dir;
  j["Entrypoint"] = c.entrypoint ? Json(*c.entrypoint) : Json(nullptr);
  if (c.network_disabled) j["NetworkDisabled"] = true;
  if (!c.mac_address.empty()) j["MacAddress"] = c.mac_address;
  j["OnBuild"] = strings_or_null(c.on_build);
  j["Labels"] = string_map_json(c.labels);
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.stop_timeout) j["StopTimeout"] = *c.stop_timeout;
  if (!c.shell.empty()) j["Shell"] = c.shell;
  return j;
}

Json to_json(const MountSpec& m) {
  Json j = Json::object();
  j["Type"] = m.type;
  if (!m.source.empty()) j["Source"] = m.source;
  j["Target"] = m.target;
  if (m.read_only) j["ReadOnly"] = true;
  if (!m.consistency.empty()) j["Consistency"] = m.consistency;
  if (!m.propagation.empty() || m.create_mountpoint || m.non_recursive) {
    Json b = Json::object();
    if (!m.propagation.empty()) b["Propagation"] = m.propagation;
    if (m.create_mountpoint) b["CreateMountpoint"] = true;
    if (m.non_recursive) b["NonRecursive"] = true;
    j["BindOptions"] = b;
  }
  if (m.no_copy || !m.volume_labels.empty() || !m.volume_driver.empty() || !m.subpath.empty()) {
    Json v = Json::object();
    if (m.no_copy) v["NoCopy"] = true;
    if (!m.volume_labels.empty()) v["Labels"] = string_map_json(m.volume_labels);
    if (!m.subpath.empty()) v["Subpath"] = m.subpath;
    if (!m.volume_driver.empty())
      v["DriverConfig"] = {{"Name", m.volume_driver}, {"Options", string_map_json(m.volume_driver_options)}};
    j["VolumeOptions"] = v;
  }
  if (m.tmpfs_size || m.tmpfs_mode) {
    Json t = Json::object();
    if (m.tmpfs_size) t["SizeBytes"] = m.tmpfs_size;
    if (m.tmpfs_mode) t["Mode"] = m.tmpfs_mode;
    j["TmpfsOptions"] = t;
  }
  return j;
}

Json to_json(const HostConfig& h) {
  Json j = Json::object();
  j["Binds"] = strings_or_null(h.binds);
  j["ContainerIDFile"] = h.container_id_file;
  j["LogConfig"] = {{"Type", h.log_config.type}, {"Config", string_map_json(h.log_config.config)}};
  j["NetworkMode"] = h.network_mode;
  j["PortBindings"] = h.port_bindings;
  j["RestartPolicy"] = {{"Name", h.restart_policy.name.empty() ? "no" : h.restart_policy.name},
                        {"MaximumRetryCount", h.restart_policy.maximum_retry_count}};
  j["AutoRemove"] = h.auto_remove;
  j["VolumeDriver"] = h.volume_driver;
  j["VolumesFrom"] = strings_or_null(h.volumes_from);
  j["ConsoleSize"] = h.console_size;
  j["Annotations"] = h.annotations.empty() ? Json(nullptr) : string_map_json(h.annotations);
  j["CapAdd"] = strings_or_null(h.cap_add);
  j["CapDrop"] = strings_or_null(h.cap_drop);
  j["CgroupnsMode"] = h.cgroupns_mode;
  j["Dns"] = h.dns;
  j["DnsOptions"] = h.dns_options;
  j["DnsSearch"] = h.dns_search;
  j["ExtraHosts"] = strings_or_null(h.extra_hosts);
  j["GroupAdd"] = strings_or_null(h.group_add);
  j["IpcMode"] = h.ipc_mode;
  j["Cgroup"] = h.cgroup;
  j["Links"] = strings_or_null(h.links);
  j["OomScoreAdj"] = h.oom_score_adj;
  j["PidMode"] = h.pid_mode;
  j["Privileged"] = h.privileged;
  j["PublishAllPorts"] = h.publish_all_ports;
  j["ReadonlyRootfs"] = h.readonly_rootfs;
  j["SecurityOpt"] = strings_or_null(h.security_opt);
  if (!h.storage_opt.empty()) j["StorageOpt"] = string_map_json(h.storage_opt);
  if (!h.tmpfs.empty()) j["Tmpfs"] = string_map_json(h.tmpfs);
  j["UTSMode"] = h.uts_mode;
  j["UsernsMode"] = h.userns_mode;
  j["ShmSize"] = h.shm_size;
  if (!h.sysctls.empty()) j["Sysctls"] = string_map_json(h.sysctls);
  j["Runtime"] = h.runtime;
  j["Isolation"] = h.isolation;
  j["CpuShares"] = h.cpu_shares;
  j["Memory"] = h.memory;
  j["NanoCpus"] = h.nano_cpus;
  j["CgroupParent"] = h.cgroup_parent;
  j["BlkioWeight"] = h.blkio_weight;
  j["BlkioWeightDevice"] = Json::array();
  j["BlkioDeviceReadBps"] = Json::array();
  j["BlkioDeviceWriteBps"] = Json::array();
  j["BlkioDeviceReadIOps"] = Json::array();
  j["BlkioDeviceWriteIOps"] = Json::array();
  j["CpuPeriod"] = h.cpu_period;
  j["CpuQuota"] = h.cpu_quota;
  j["CpuRealtimePeriod"] = h.cpu_realtime_period;
  j["CpuRealtimeRuntime"] = h.cpu_realtime_runtime;
  j["CpusetCpus"] = h.cpuset_cpus;
  j["CpusetMems"] = h.cpuset_mems;
  Json devices = Json::array();
  for (const auto& d : h.devices)
    devices.push_back({{"PathOnHost", d.path_on_host}, {"PathInContainer", d.path_in_container}, {"CgroupPermissions", d.cgroup_permissions}});
  j["Devices"] = devices;
  j["DeviceCgroupRules"] = strings_or_null(h.device_cgroup_rules);
  j["DeviceRequests"] = nullptr;
  j["MemoryReservation"] = h.memory_reservation;
  j["MemorySwap"] = h.memory_swap;
  j["MemorySwappiness"] = h.memory_swappiness ? Json(*h.memory_swappiness) : Json(nullptr);
  j["OomKillDisable"] = h.oom_kill_disable ? Json(*h.oom_kill_disable) : Json(nullptr);
  j["PidsLimit"] = h.pids_limit ? Json(*h.pids_limit) : Json(nullptr);
  Json ulimits = Json::array();
  for (const auto& u : h.ulimits) ulimits.push_back({{"Name", u.name}, {"Soft", u.soft}, {"Hard", u.hard}});
  j["Ulimits"] = h.ulimits.empty() ? Json(nullptr) : ulimits;
  j["CpuCount"] = 0;
  j["CpuPercent"] = 0;
  j["IOMaximumIOps"] = 0;
  j["IOMaximumBandwidth"] = 0;
  if (!h.mounts.empty()) {
    Json mounts = Json::array();
    for (const auto& m : h.mounts) mounts.push_back(to_json(m));
    j["Mounts"] = mounts;
  }
  if (h.init) j["Init"] = *h.init;
  j["MaskedPaths"] = h.masked_paths ? Json(*h.masked_paths) : Json(nullptr);
  j["ReadonlyPaths"] = h.readonly_paths ? Json(*h.readonly_paths) : Json(nullptr);
  return j;
}

Status validate_restart_policy(const RestartPolicy& p, bool auto_remove) {
  const std::string& n = p.name;
  if (n.empty() || n == "no") {
    if (p.maximum_retry_count != 0)
      return make_error(Errc::invalid_argument, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
    return ok();
  }
  if (n != "always" && n != "unless-stopped" && n != "on-failure")
    return make_error(Errc::invalid_argument, "invalid restart policy: unknown policy '" + n +
                                                  "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  if (n != "on-failure" && p.maximum_retry_count != 0)
    return make_error(Errc::invalid_argument, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  if (p.maximum_retry_count < 0)
    return make_error(Errc::invalid_argument, "invalid restart policy: maximum retry count cannot be negative");
  if (auto_remove)
    return make_error(Errc::invalid_argument, "can't create 'AutoRemove' container with restart policy");
  return ok();
}

}  // namespace berth::agent
