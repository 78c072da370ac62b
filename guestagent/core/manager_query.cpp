// Looking containers up, listing them, what uses images and volumes, roots for docker cp, prune.
#include <fcntl.h>

#include "berth/common/log.h"
#include "container_manager.h"
#include "image/rootfs.h"
#include "image/safe_fs.h"

namespace berth::agent {

Result<Container> ContainerManager::get(const std::string& ref) const {
  std::lock_guard lock(mu_);
  auto e = BERTH_TRY(find_locked(ref));
  return e->c;
}

std::vector<Container> ContainerManager::list() const {
  std::lock_guard lock(mu_);
  std::vector<Container> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) out.push_back(e->c);
  return out;
}

std::optional<image::ImageUse> ContainerManager::image_user(const std::string& image_id) const {
  std::lock_guard lock(mu_);
  std::optional<image::ImageUse> found;
  for (const auto& [id, e] : by_id_) {
    if (e->c.image != image_id) continue;
    if (e->c.state.running) return image::ImageUse{id, true};
    if (!found) found = image::ImageUse{id, false};
  }
  return found;
}

std::vector<std::string> ContainerManager::exec_ids(const std::string& ref) const {
  std::lock_guard lock(mu_);
  auto e = find_locked(ref);
  if (!e) return {};
  std::vector<std::string> out;
  for (const auto& id : (*e)->execs)
    if (execs_.count(id)) out.push_back(id);
  return out;
}

std::vector<std::string> ContainerManager::volume_users(const std::string& volume) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, e] : by_id_)
    for (const auto& m : e->c.mounts)
      if (m.type == "volume" && m.name == volume) {
        out.push_back(id);
        break;
      }
  return out;
}

ContainerManager::Counts ContainerManager::counts() const {
  std::lock_guard lock(mu_);
  Counts c;
  for (const auto& [id, e] : by_id_) {
    ++c.total;
    if (e->c.state.paused) {
      ++c.paused;
    } else if (e->c.state.running) {
      ++c.running;
    } else {
      ++c.stopped;
    }
  }
  return c;
}

Result<UniqueFd> ContainerManager::open_root(const std::string& ref, std::string& path, bool for_write) {
  Container c;
  {
    std::lock_guard lock(mu_);
    auto e = BERTH_TRY(find_locked(ref));
    c = e->c;
  }
  if (for_write && c.host_config.readonly_rootfs)
    return make_error(Errc::permission, "container rootfs is marked read-only");
  if (c.state.running && c.state.pid > 0) {
    // The container's own view, with its volumes and tmpfs mounts.
    std::string proc_root = "/proc/" + std::to_string(c.state.pid) + "/root";
    int fd = ::open(proc_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
  }
  // Stopped: the rootfs, or the volume or bind source the path lies in.
  std::string best_dst, best_src;
  for (const auto& m : c.mounts) {
    if (m.type != "bind" && m.type != "volume") continue;
    const std::string& d = m.destination;
    bool under = path == d || (path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/');
    if (under && d.size() > best_dst.size()) {
      best_dst = d;
      best_src = m.source;
    }
  }
  if (!best_dst.empty()) {
    std::string rest = path.substr(best_dst.size());
    path = rest.empty() ? "/" : rest;
    auto fd = BERTH_TRY(image::safefs::open_dir_path(best_src));
    return fd;
  }
  auto rootfs = BERTH_TRY(image::mount_rootfs(o_.state_root, c.id, {}));
  int fd = ::open(rootfs.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + rootfs.path);
  return UniqueFd(fd);
}

Result<std::pair<std::vector<std::string>, uint64_t>> ContainerManager::prune(const Filters& filters) {
  BERTH_TRY(filters.validate({"until", "label", "label!"}));
  int64_t until = 0;
  for (const auto& u : filters.get("until")) until = BERTH_TRY(parse_timestamp_param(u, "until"));
  std::vector<std::string> candidates;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : by_id_) {
      const auto& c = e->c;
      if (c.state.running || c.state.restarting) continue;
      if (until && parse_time_ns(c.created).value_or(0) >= until) continue;
      if (!filters.match_labels("label", c.config.labels)) continue;
      bool excluded = false;
      for (const auto& l : filters.get("label!")) {
        auto eq = l.find('=');
        auto it = c.config.labels.find(l.substr(0, eq));
        if (it != c.config.labels.end() && (eq == std::string::npos || it->second == l.substr(eq + 1))) excluded = true;
      }
      if (!excluded) candidates.push_back(id);
    }
  }
  std::vector<std::string> removed;
  uint64_t reclaimed = 0;
  for (const auto& id : candidates) {
    auto upper = image::safefs::open_dir_path(container_dir(id) + "/upper");
    uint64_t size = 0;
    if (upper) size = image::safefs::disk_usage(upper->get()).value_or(0);
    if (remove(id, false, false)) {
      removed.push_back(id);
      reclaimed += size;
    }
  }
  return std::make_pair(removed, reclaimed);
}

}  // namespace berth::agent
