// POST /containers/create: validate everything first, then create the rootfs, volumes and
// files; a failure after that removes what was made, so nothing is left half-created.
#include <unistd.h>

#include <algorithm>
#include <set>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "container_manager.h"
#include "defaults.h"
#include "etc_files.h"
#include "mounts.h"
#include "signals.h"
#include "spec_builder.h"

namespace berth::agent {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) < 0) return "localhost";
  return buf;
}

template <class T>
void append_unique(std::vector<T>& to, const std::vector<T>& from) {
  for (const auto& v : from)
    if (std::find(to.begin(), to.end(), v) == to.end()) to.push_back(v);
}

// Docker's merge of the image's config into the container's: unset fields come from the image.
void merge_image_config(ContainerConfig& c, const image::ImageConfig& img) {
  c.env = image::merge_env(img.env, c.env);
  if (c.entrypoint && c.entrypoint->size() == 1 && c.entrypoint->front().empty()) c.entrypoint = std::vector<std::string>{};
  if (!c.entrypoint) {
    if (!img.entrypoint.empty()) c.entrypoint = img.entrypoint;
    if (!c.cmd && !img.cmd.empty()) c.cmd = img.cmd;
  }
  if (c.working_dir.empty()) c.working_dir = img.working_dir;
  if (c.user.empty()) c.user = img.user;
  if (c.stop_signal.empty()) c.stop_signal = img.stop_signal;
  if (!c.healthcheck && img.healthcheck) {
    HealthConfig h;
    h.test = img.healthcheck->test;
    h.interval = img.healthcheck->interval_ns;
    h.timeout = img.healthcheck->timeout_ns;
    h.start_period = img.healthcheck->start_period_ns;
    h.start_interval = img.healthcheck->start_interval_ns;
    h.retries = img.healthcheck->retries;
    c.healthcheck = h;
  }
  append_unique(c.volumes, img.volumes);
  append_unique(c.exposed_ports, img.exposed_ports);
  for (const auto& [k, v] : img.labels) c.labels.emplace(k, v);  // the container's win
  if (c.shell.empty()) c.shell = img.shell;
  if (c.on_build.empty()) c.on_build = img.on_build;
}

Status validate_host(HostConfig& h, std::vector<std::string>& warnings, const ManagerOptions& o) {
  BERTH_TRY(validate_restart_policy(h.restart_policy, h.auto_remove));
  if (h.restart_policy.name.empty()) h.restart_policy.name = "no";
  auto caps = effective_capabilities(h.cap_add, h.cap_drop, h.privileged);
  if (!caps) return make_error(Errc::invalid_argument, "invalid CapAdd/CapDrop: " + caps.error().message);
  BERTH_TRY(parse_security_options(h.security_opt));
  BERTH_TRY(validate_extra_hosts(h.extra_hosts));
  if (h.network_mode.empty() || h.network_mode == "default") h.network_mode = "bridge";
  const std::string& nm = h.network_mode;
  if (nm == "bridge") {
    warnings.push_back("berth has no bridge network yet: the container gets its own network namespace with only "
                       "loopback (as with --network none)");
  } else if (nm != "none" && nm != "host") {
    if (nm.rfind("container:", 0) == 0)
      return make_error(Errc::unsupported, "network mode \"" + nm + "\" is not supported by berth yet");
    return make_error(Errc::not_found, "network " + nm + " not found");
  }
  if (!h.port_bindings.empty() && nm != "host")
    warnings.push_back("published ports are not forwarded yet: berth has no bridge network");
  for (const char* mode : {"pid", "ipc", "uts", "userns", "cgroupns"}) {
    std::string v = std::string(mode) == "pid" ? h.pid_mode
                    : std::string(mode) == "ipc" ? h.ipc_mode
                    : std::string(mode) == "uts" ? h.uts_mode
                    : std::string(mode) == "userns" ? h.userns_mode
                                                    : h.cgroupns_mode;
    bool okv = v.empty() || v == "host" || (std::string(mode) == "ipc" && (v == "private" || v == "shareable" || v == "none")) ||
               (std::string(mode) == "cgroupns" && v == "private");
    if (!okv) return make_error(Errc::invalid_argument, "invalid " + std::string(mode) + " mode: \"" + v + "\" is not supported by berth");
  }
  if (h.ipc_mode.empty()) h.ipc_mode = "private";
  if (h.cgroupns_mode.empty()) h.cgroupns_mode = "private";
  const std::string& lt = h.log_config.type;
  if (lt != "json-file" && lt != "none" && lt != "local")
    return make_error(Errc::invalid_argument, "logger: no log driver named '" + lt + "' is registered");
  if (!h.runtime.empty() && h.runtime != "berth" && h.runtime != "runc" && h.runtime != "io.containerd.runc.v2")
    return make_error(Errc::invalid_argument, "unknown or invalid runtime name: " + h.runtime);
  if (h.runtime.empty()) h.runtime = "berth";
  for (const auto& u : h.ulimits) {
    static const std::set<std::string> names = {"core",   "cpu",    "data",    "fsize",  "locks",   "memlock", "msgqueue",
                                                "nice",   "nofile", "nproc",   "rss",    "rtprio",  "rttime",  "sigpending",
                                                "stack",  "as"};
    if (!names.count(u.name)) return make_error(Errc::invalid_argument, "invalid ulimit type: " + u.name);
  }
  if (h.init && *h.init && o.init_bin.empty())
    warnings.push_back("--init was requested but no init binary (docker-init or tini) is available to berth; the "
                       "command runs as the container's PID 1");
  if (!h.devices.empty()) warnings.push_back("device mappings (--device) are not supported by berth yet; ignored");
  if (!h.volumes_from.empty()) return make_error(Errc::unsupported, "VolumesFrom is not supported by berth yet");
  return ok();
}

}  // namespace

Result<CreateResult> ContainerManager::create(const std::string& name_in, const Json& body) {
  if (body.is_null()) return make_error(Errc::invalid_argument, "config cannot be empty in order to create a container");
  if (!body.is_object()) return make_error(Errc::invalid_argument, "invalid JSON: expected an object");
  auto config = BERTH_TRY(parse_container_config(body, ""));
  auto host = BERTH_TRY(parse_host_config(body.contains("HostConfig") ? body["HostConfig"] : Json(nullptr), "HostConfig"));
  CreateResult result;

  if (!name_in.empty() && !valid_container_name(name_in))
    return make_error(Errc::invalid_argument,
                      "Invalid container name (" + name_in + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  if (config.image.empty()) return make_error(Errc::invalid_argument, "no image specified");
  if (!config.stop_signal.empty()) BERTH_TRY(parse_signal(config.stop_signal));
  if (config.stop_timeout && *config.stop_timeout < -1)
    return make_error(Errc::invalid_argument, "StopTimeout: invalid value " + std::to_string(*config.stop_timeout));
  BERTH_TRY(validate_host(host, result.warnings, o_));

  auto image = BERTH_TRY(images_.inspect(config.image));
  merge_image_config(config, image.config);
  if (!config.working_dir.empty() && config.working_dir.front() != '/')
    return make_error(Errc::invalid_argument,
                      "the working directory '" + config.working_dir + "' is invalid, it needs to be an absolute path");
  auto argv = image::process_args(image.config, std::nullopt, std::nullopt);
  {
    std::vector<std::string> a = config.entrypoint.value_or(std::vector<std::string>{});
    if (config.cmd) a.insert(a.end(), config.cmd->begin(), config.cmd->end());
    argv = a;
  }
  if (argv.empty()) return make_error(Errc::invalid_argument, "no command specified");
  auto mounts = BERTH_TRY(parse_mounts(host, config.volumes));

  Container c;
  c.id = new_id();
  if (config.hostname.empty()) config.hostname = host.network_mode == "host" ? host_name() : short_id(c.id);

  // Reserve the name; from here on failures must undo what they made.
  std::string name;
  {
    std::lock_guard lock(mu_);
    if (!name_in.empty()) {
      name = name_in.front() == '/' ? name_in : "/" + name_in;
      if (auto it = by_name_.find(name); it != by_name_.end())
        return make_error(Errc::conflict, "Conflict. The container name \"" + name + "\" is already in use by container \"" +
                                              it->second +
                                              "\". You have to remove (or rename) that container to be able to reuse that name.");
    } else {
      for (int attempt = 0;; ++attempt) {
        name = "/" + random_name(attempt / 3);
        if (!by_name_.count(name)) break;
      }
    }
    by_name_[name] = c.id;
  }
  auto release_name = [&] {
    std::lock_guard lock(mu_);
    by_name_.erase(name);
  };

  auto rootfs = images_.create_rootfs(image.id, c.id);
  if (!rootfs) {
    release_name();
    return tl::unexpected(rootfs.error().context("create rootfs"));
  }
  auto undo = [&](const Error& err) -> tl::unexpected<Error> {
    (void)rootfs->remove();
    release_name();
    return tl::unexpected(err);
  };
  if (auto st = materialize_mounts(mounts, volumes_, c.id); !st) return undo(st.error());

  std::string dir = container_dir(c.id);
  c.name = name;
  c.created = now_string();
  c.path = argv.front();
  c.args.assign(argv.begin() + 1, argv.end());
  c.config = std::move(config);
  c.host_config = std::move(host);
  c.image = image.id;
  c.mounts = std::move(mounts);
  c.log_path = c.host_config.log_config.type == "none" ? "" : dir + "/" + c.id + "-json.log";
  c.hostname_path = dir + "/hostname";
  c.hosts_path = dir + "/hosts";
  c.resolv_conf_path = dir + "/resolv.conf";
  bool host_net = c.host_config.network_mode == "host";
  auto host_resolv = fs::read_file("/etc/resolv.conf");
  auto wr = fs::write_file_atomic(c.hostname_path, c.config.hostname + "\n", 0644);
  if (wr)
    wr = fs::write_file_atomic(c.hosts_path,
                               host_net ? fs::read_file("/etc/hosts").value_or("") + extra_hosts_lines(c.host_config.extra_hosts)
                                        : hosts_file(c.host_config.extra_hosts),
                               0644);
  if (wr) wr = fs::write_file_atomic(c.resolv_conf_path, resolv_conf(c.host_config, host_resolv.value_or(""), host_net), 0644);
  if (!wr) {
    for (const auto& m : c.mounts)
      if (m.type == "volume" && m.anonymous) (void)volumes_.remove(m.name, {});
    return undo(wr.error());
  }
  c.warnings = result.warnings;

  auto e = std::make_shared<Entry>();
  e->c = c;
  {
    std::lock_guard lock(mu_);
    auto st = persist_locked(*e);
    if (!st) {
      for (const auto& m : c.mounts)
        if (m.type == "volume" && m.anonymous) (void)volumes_.remove(m.name, {});
      by_name_.erase(name);
      (void)rootfs->remove();
      return tl::unexpected(st.error());
    }
    by_id_[c.id] = e;
  }
  publish(c, "create");
  log::get("agent")->info("container {}: created ({}, image {})", short_id(c.id), c.name, c.config.image);
  result.id = c.id;
  return result;
}

}  // namespace berth::agent
