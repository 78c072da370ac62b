#include "volumes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "ids.h"
#include "image/safe_fs.h"
#include "json_reader.h"

namespace berth::agent {

bool valid_volume_name(std::string_view name) {
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || (i > 0 && (c == '_' || c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

std::string invalid_volume_name_message(std::string_view name) {
  return "create " + std::string(name) + ": \"" + std::string(name) +
         "\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. "
         "If you intended to pass a host directory, use absolute path";
}

Json to_json(const Volume& v, std::optional<int64_t> size, std::optional<int64_t> ref_count) {
  Json labels = Json::object();
  for (const auto& [k, val] : v.labels) labels[k] = val;
  Json options = Json::object();
  for (const auto& [k, val] : v.options) options[k] = val;
  Json j = {{"Name", v.name},           {"Driver", v.driver}, {"Mountpoint", v.mountpoint},
            {"CreatedAt", v.created_at}, {"Labels", labels},  {"Scope", "local"},
            {"Options", v.options.empty() ? Json(nullptr) : options}};
  if (size || ref_count) j["UsageData"] = {{"Size", size.value_or(-1)}, {"RefCount", ref_count.value_or(-1)}};
  return j;
}

VolumeStore::VolumeStore(std::string root) : root_(std::move(root)) {}

Status VolumeStore::load() {
  BERTH_TRY(image::safefs::ensure_dir(root_, 0701));
  std::lock_guard lock(mu_);
  volumes_.clear();
  auto dirfd = BERTH_TRY(image::safefs::open_dir_path(root_));
  auto names = BERTH_TRY(image::safefs::list_dir(dirfd.get()));
  for (const auto& name : names) {
    if (!valid_volume_name(name)) continue;
    auto text = fs::read_file(dir(name) + "/volume.json");
    if (!text) {
      log::get("agent")->warn("volume {}: no volume.json, ignored", name);
      continue;
    }
    auto j = parse_json(*text, "volume.json");
    if (!j) continue;
    auto v = read_boundary([&] {
      ObjectReader r(*j, "");
      Volume vol;
      vol.name = name;
      vol.driver = r.str("Driver", "local");
      vol.mountpoint = dir(name) + "/_data";
      vol.created_at = r.str("CreatedAt");
      vol.labels = r.string_map("Labels");
      vol.options = r.string_map("Options");
      return vol;
    });
    if (v) volumes_[name] = *v;
  }
  return ok();
}

Result<Volume> VolumeStore::create(std::string name, std::map<std::string, std::string> labels,
                                   std::map<std::string, std::string> options, bool anonymous) {
  if (name.empty()) {
    name = new_id();
    anonymous = true;
  }
  if (!valid_volume_name(name)) return make_error(Errc::invalid_argument, invalid_volume_name_message(name));
  for (const auto& [k, v] : options) {
    (void)v;
    if (k != "type" && k != "device" && k != "o" && k != "size")
      return make_error(Errc::invalid_argument, "create " + name + ": invalid option: \"" + k + "\"");
  }
  if (options.count("type") || options.count("device"))
    return make_error(Errc::unsupported, "create " + name + ": local volumes with mount options (type, device, o) are not supported by berth yet");
  std::lock_guard lock(mu_);
  if (auto it = volumes_.find(name); it != volumes_.end()) return it->second;
  if (anonymous) labels[kAnonymousVolumeLabel] = "";
  Volume v;
  v.name = name;
  v.mountpoint = dir(name) + "/_data";
  v.created_at = format_time(Clock::now()).substr(0, 19) + "Z";
  v.labels = std::move(labels);
  v.options = std::move(options);
  BERTH_TRY(fs::mkdir_p(dir(name), 0701));
  BERTH_TRY(fs::mkdir_p(v.mountpoint, 0755));
  Json meta = to_json(v);
  BERTH_TRY(fs::write_file_atomic(dir(name) + "/volume.json", meta.dump(2), 0600));
  volumes_[name] = v;
  return v;
}

Result<Volume> VolumeStore::get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  return it->second;
}

std::vector<Volume> VolumeStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<Volume> out;
  for (const auto& [k, v] : volumes_) out.push_back(v);
  return out;
}

Status VolumeStore::remove(const std::string& name, const std::vector<std::string>& users) {
  std::lock_guard lock(mu_);
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return make_error(Errc::not_found, "get " + name + ": no such volume");
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : " ") + u;
    return make_error(Errc::conflict, "remove " + name + ": volume is in use - [" + list + "]");
  }
  BERTH_TRY(fs::remove_all(dir(name)));
  volumes_.erase(it);
  return ok();
}

int64_t VolumeStore::size(const std::string& name) const {
  std::string path;
  {
    std::lock_guard lock(mu_);
    auto it = volumes_.find(name);
    if (it == volumes_.end()) return -1;
    path = it->second.mountpoint;
  }
  auto fd = image::safefs::open_dir_path(path);
  if (!fd) return -1;
  auto s = image::safefs::disk_usage(fd->get());
  return s ? static_cast<int64_t>(*s) : -1;
}

}  // namespace berth::agent
