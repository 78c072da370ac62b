#include "daemon_config.h"

#include <algorithm>

#include "berth/common/fs.h"
#include "image/registry_hosts.h"

namespace berth::agent {

namespace {

// Go's %v of a []string: "[a b]".
std::string go_list(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? " " : "") + v[i];
  return out + "]";
}

std::vector<std::string> string_list(const Json& doc, const char* key) {
  const Json& arr = jsonf::get_array(doc[key], key);
  std::vector<std::string> out;
  for (size_t i = 0; i < arr.size(); ++i) out.push_back(jsonf::get_string(arr[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

Result<DaemonConfig> parse_daemon_config(std::string_view text, const std::string& path) {
  auto doc = parse_json(text, path);
  if (!doc) return tl::unexpected(doc.error());
  return json_boundary(path, [&] {
    jsonf::get_object(*doc, "daemon configuration");
    DaemonConfig c;
    for (const auto& [key, value] : doc->items()) {
      if (key == "registry-mirrors") {
        c.has_mirrors = true;
        c.registry_mirrors = string_list(*doc, "registry-mirrors");
      } else if (key == "insecure-registries") {
        c.has_insecure = true;
        c.insecure_registries = string_list(*doc, "insecure-registries");
      } else {
        c.unused_keys.push_back(key);
      }
    }
    return c;
  });
}

Result<DaemonConfig> load_daemon_config(const std::string& path, bool must_exist) {
  auto text = fs::read_file(path);
  if (!text) {
    if (text.error().code == Errc::not_found && !must_exist) return DaemonConfig{};
    return make_error(text.error().code, "unable to configure the daemon with file " + path + ": " + text.error().message);
  }
  return parse_daemon_config(*text, path);
}

Result<image::RegistryConfig> merge_registry_config(image::RegistryConfig flags, const DaemonConfig& file) {
  std::vector<std::string> conflicts;
  if (file.has_mirrors && !flags.mirrors.empty())
    conflicts.push_back("registry-mirrors: (from flag: " + go_list(flags.mirrors) + ", from file: " + go_list(file.registry_mirrors) + ")");
  if (file.has_insecure && !flags.insecure_registries.empty())
    conflicts.push_back("insecure-registries: (from flag: " + go_list(flags.insecure_registries) +
                        ", from file: " + go_list(file.insecure_registries) + ")");
  if (!conflicts.empty()) {
    std::string msg = "the following directives are specified both as a flag and in the configuration file: ";
    for (size_t i = 0; i < conflicts.size(); ++i) msg += (i ? ", " : "") + conflicts[i];
    return make_error(Errc::invalid_argument, msg);
  }
  image::RegistryConfig out = std::move(flags);
  if (file.has_mirrors) out.mirrors = file.registry_mirrors;
  if (file.has_insecure) out.insecure_registries = file.insecure_registries;
  std::vector<std::string> mirrors;
  for (const auto& m : out.mirrors) {
    auto v = BERTH_TRY(image::validate_mirror(m));
    if (std::find(mirrors.begin(), mirrors.end(), v) == mirrors.end()) mirrors.push_back(v);
  }
  out.mirrors = std::move(mirrors);
  BERTH_TRY(image::InsecureRegistries::parse(out.insecure_registries, out.loopback_is_insecure));
  return out;
}

Json registry_info_json(const image::RegistryConfig& config) {
  auto insecure = image::InsecureRegistries::parse(config.insecure_registries, config.loopback_is_insecure)
                      .value_or(image::InsecureRegistries{});
  Json cidrs = Json::array();
  for (const auto& n : insecure.cidrs) cidrs.push_back(n.string());
  Json index = Json::object();
  for (const auto& h : insecure.hosts)
    index[h] = {{"Name", h}, {"Mirrors", Json::array()}, {"Secure", false}, {"Official", false}};
  index["docker.io"] = {{"Name", "docker.io"}, {"Mirrors", config.mirrors}, {"Secure", true}, {"Official", true}};
  return {{"AllowNondistributableArtifactsCIDRs", nullptr},
          {"AllowNondistributableArtifactsHostnames", nullptr},
          {"InsecureRegistryCIDRs", cidrs},
          {"IndexConfigs", index},
          {"Mirrors", config.mirrors}};
}

}  // namespace berth::agent
