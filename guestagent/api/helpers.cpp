#include "helpers.h"

#include "core/ids.h"
#include "image/rootfs.h"

namespace berth::agent {

std::string stream_content_type(bool tty, const http::Request& req) {
  if (tty || req.api_version() < http::ApiVersion{1, 42}) return kRawStream;
  return kMultiplexedStream;
}

Result<std::optional<int>> query_int(const http::Request& req, const std::string& key) {
  auto v = BERTH_TRY(req.query.get_int(key));
  if (!v) return std::optional<int>{};
  if (*v < INT32_MIN || *v > INT32_MAX) return make_error(Errc::invalid_argument, "invalid value for " + key + ": out of range");
  return std::optional<int>(static_cast<int>(*v));
}

namespace {

Json endpoint_json() {
  return {{"IPAMConfig", nullptr}, {"Links", nullptr},   {"Aliases", nullptr},     {"MacAddress", ""},
          {"DriverOpts", nullptr}, {"NetworkID", ""},    {"EndpointID", ""},       {"Gateway", ""},
          {"IPAddress", ""},       {"IPPrefixLen", 0},   {"IPv6Gateway", ""},      {"GlobalIPv6Address", ""},
          {"GlobalIPv6PrefixLen", 0}, {"DNSNames", nullptr}};
}

Json mounts_json(const Container& c) {
  Json mounts = Json::array();
  for (const auto& m : c.mounts)
    if (m.type != "tmpfs" || c.host_config.tmpfs.count(m.destination) == 0) mounts.push_back(to_json(m));
  return mounts;
}

}  // namespace

Json network_settings_json(const Container& c) {
  Json networks = Json::object();
  networks[c.host_config.network_mode.empty() ? "none" : c.host_config.network_mode] = endpoint_json();
  return {{"Bridge", ""},
          {"SandboxID", ""},
          {"SandboxKey", ""},
          {"Ports", Json::object()},
          {"HairpinMode", false},
          {"LinkLocalIPv6Address", ""},
          {"LinkLocalIPv6PrefixLen", 0},
          {"SecondaryIPAddresses", nullptr},
          {"SecondaryIPv6Addresses", nullptr},
          {"EndpointID", ""},
          {"Gateway", ""},
          {"GlobalIPv6Address", ""},
          {"GlobalIPv6PrefixLen", 0},
          {"IPAddress", ""},
          {"IPPrefixLen", 0},
          {"IPv6Gateway", ""},
          {"MacAddress", ""},
          {"Networks", networks}};
}

Json inspect_json(const Container& c, const std::vector<std::string>& exec_ids, const std::string& state_root) {
  std::string dir = state_root + "/containers/" + c.id;
  Json state = to_json(c.state);  // with Health once a container with a health check has run
  Json j = Json::object();
  j["Id"] = c.id;
  j["Created"] = c.created;
  j["Path"] = c.path;
  j["Args"] = c.args;
  j["State"] = state;
  j["Image"] = c.image;
  j["ResolvConfPath"] = c.resolv_conf_path;
  j["HostnamePath"] = c.hostname_path;
  j["HostsPath"] = c.hosts_path;
  j["LogPath"] = c.log_path;
  j["Name"] = c.name;
  j["RestartCount"] = c.restart_count;
  // "vfs" is Docker's name for a driver that copies the image: what berth does where the
  // kernel has no overlayfs (image/rootfs.h).
  auto rootfs = image::open_rootfs(state_root, c.id);
  bool copied = rootfs && rootfs->mode == image::RootfsMode::copy;
  j["Driver"] = copied ? "vfs" : "overlay2";
  j["Platform"] = "linux";
  j["MountLabel"] = "";
  j["ProcessLabel"] = "";
  j["AppArmorProfile"] = "";
  j["ExecIDs"] = exec_ids.empty() ? Json(nullptr) : Json(exec_ids);
  j["HostConfig"] = to_json(c.host_config);
  j["GraphDriver"] = copied ? Json{{"Name", "vfs"}, {"Data", nullptr}}
                            : Json{{"Name", "overlay2"},
                                   {"Data",
                                    {{"MergedDir", dir + "/rootfs"}, {"UpperDir", dir + "/upper"}, {"WorkDir", dir + "/work"}}}};
  j["Mounts"] = mounts_json(c);
  j["Config"] = to_json(c.config);
  j["NetworkSettings"] = network_settings_json(c);
  return j;
}

Json list_json(const Container& c, int64_t now) {
  std::string command = c.path;
  for (const auto& a : c.args) command += " " + a;
  Json labels = Json::object();
  for (const auto& [k, v] : c.config.labels) labels[k] = v;
  Json networks = Json::object();
  networks[c.host_config.network_mode.empty() ? "none" : c.host_config.network_mode] = endpoint_json();
  std::string state = c.state.status;
  return {{"Id", c.id},
          {"Names", Json::array({c.name})},
          {"Image", c.config.image},
          {"ImageID", c.image},
          {"Command", command},
          {"Created", parse_time_ns(c.created).value_or(0) / 1000000000},
          {"Ports", Json::array()},
          {"Labels", labels},
          {"State", state},
          {"Status", status_text(c.state, now)},
          {"HostConfig", {{"NetworkMode", c.host_config.network_mode}}},
          {"NetworkSettings", {{"Networks", networks}}},
          {"Mounts", mounts_json(c)}};
}

Json image_summary_json(const image::ImageRecord& r, bool old_api) {
  Json labels = Json::object();
  for (const auto& [k, v] : r.config.labels) labels[k] = v;
  Json j = {{"Id", r.id},
            {"ParentId", ""},
            {"RepoTags", r.repo_tags},
            {"RepoDigests", r.repo_digests},
            {"Created", r.created},
            {"Size", r.size},
            {"SharedSize", -1},
            {"Labels", labels},
            {"Containers", -1}};
  if (old_api) j["VirtualSize"] = r.size;
  return j;
}

}  // namespace berth::agent
