// Manager::open: detects the cgroup version and resolves linux.cgroupsPath.
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <set>
#include <utility>

#include "berth/common/fs.h"
#include "cgroup/backend.h"
#include "cgroup/cgroup.h"
#include "cgroup/knobs.h"

namespace berth::runtime::cgroup {

std::string_view version_name(Version version) { return version == Version::v1 ? "v1" : "v2"; }

std::vector<std::string> Manager::drain_warnings() { return std::exchange(warnings_, {}); }

void Manager::warn(std::string message) { warnings_.push_back(std::move(message)); }

namespace detail {

std::string Hierarchy::dir() const { return join(mount, path); }

bool Hierarchy::has(std::string_view controller) const {
  std::string_view rest = name;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    if (rest.substr(0, comma) == controller) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace detail

namespace {

using detail::join;

// Every v1 hierarchy a container joins: the ones berth sets limits in, and the rest so that
// the container's processes are nowhere else (as runc does).
constexpr std::string_view kV1Hierarchies[] = {
    "cpu",     "cpuacct",  "cpuset",     "memory", "devices", "freezer", "blkio", "pids",
    "hugetlb", "net_cls",  "net_prio",   "perf_event", "rdma", "misc",   "systemd",
};

// "/a//b/./c/" → "/a/b/c"; "/" → "". ".." is refused rather than resolved, so that no
// spelling of a path can reach outside the cgroup root.
Result<std::string> clean_path(std::string_view path, const std::string& field) {
  std::string out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..")
      return make_error(Errc::invalid_argument, field + ": \"..\" is not allowed in a cgroup path");
    out += '/';
    out += part;
  }
  return out;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// /proc/self/cgroup: "hierarchy-id:controller,list:/path". The v2 entry is "0::/path".
struct OwnCgroups {
  std::optional<std::string> unified;
  std::map<std::string, std::string> by_controller;  // "memory", "name=systemd"
};

Result<OwnCgroups> read_own_cgroups(const std::string& file) {
  auto text = BERTH_TRY(fs::read_file(file));
  OwnCgroups own;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol == std::string_view::npos ? rest.size() : eol + 1);
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view id = line.substr(0, c1);
    std::string_view controllers = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path(line.substr(c2 + 1));
    if (id == "0" && controllers.empty()) {
      own.unified = path;
      continue;
    }
    while (!controllers.empty()) {
      size_t comma = controllers.find(',');
      own.by_controller[std::string(controllers.substr(0, comma))] = path;
      if (comma == std::string_view::npos) break;
      controllers.remove_prefix(comma + 1);
    }
  }
  return own;
}

bool is_fs(const std::string& path, decltype(statfs::f_type) magic) {
  struct statfs st;
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == magic;
}

Result<Version> detect(const Options& options) {
  if (options.force_version) return *options.force_version;
  struct statfs st;
  if (::statfs(options.mountpoint.c_str(), &st) < 0)
    return sys_error("cgroups: statfs " + options.mountpoint);
  if (st.f_type == CGROUP2_SUPER_MAGIC) return Version::v2;
  // Hybrid hosts also mount an empty cgroup2 (usually at "unified"); their controllers
  // live in the v1 hierarchies, so those decide.
  for (std::string_view name : kV1Hierarchies)
    if (is_fs(join(options.mountpoint, name), CGROUP_SUPER_MAGIC)) return Version::v1;
  return make_error(Errc::unsupported, "cgroups: neither cgroup2 nor cgroup v1 hierarchies are "
                                       "mounted at " + options.mountpoint);
}

Result<std::vector<detail::Hierarchy>> v1_hierarchies(const Options& options) {
  // A fake tree (forced version) has plain directories where cgroupfs would be mounted.
  bool need_cgroupfs = !options.force_version;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<detail::Hierarchy> out;
  for (std::string_view name : kV1Hierarchies) {
    std::string dir = join(options.mountpoint, name);
    struct stat st;
    if (::stat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    if (need_cgroupfs && !is_fs(dir, CGROUP_SUPER_MAGIC)) continue;
    // "cpu" and "cpuacct" are often symlinks to one "cpu,cpuacct" mount.
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    std::string real(name);
    char target[256];
    ssize_t n = ::readlink(dir.c_str(), target, sizeof target - 1);
    if (n > 0) {
      std::string_view t(target, static_cast<size_t>(n));
      real = std::string(t.substr(t.rfind('/') == std::string_view::npos ? 0 : t.rfind('/') + 1));
    }
    out.push_back({real, join(options.mountpoint, real), ""});
  }
  if (out.empty())
    return make_error(Errc::unsupported,
                      "cgroups: no cgroup v1 hierarchies are mounted under " + options.mountpoint);
  return out;
}

Result<std::string> own_v1_path(const OwnCgroups& own, const detail::Hierarchy& h,
                                const std::string& file) {
  std::string_view rest = h.name;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string key(rest.substr(0, comma));
    if (key == "systemd") key = "name=systemd";
    if (auto it = own.by_controller.find(key); it != own.by_controller.end()) return it->second;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return make_error(Errc::not_found,
                    "cgroups: " + file + " has no entry for the " + h.name + " hierarchy");
}

}  // namespace

Result<std::unique_ptr<Manager>> Manager::open(const std::string& cgroups_path,
                                               const std::string& container_id,
                                               const Options& options) {
  const std::string field = "linux.cgroupsPath";
  std::string path;
  bool relative = false;
  if (cgroups_path.empty()) {
    if (container_id.empty() || container_id == "." || container_id == ".." ||
        container_id.find('/') != std::string::npos)
      return make_error(Errc::invalid_argument,
                        "cgroups: container id \"" + container_id + "\" cannot name a cgroup");
    path = "/berth/" + container_id;
  } else {
    path = BERTH_TRY(clean_path(cgroups_path, field));
    relative = cgroups_path.front() != '/';
    if (relative && path.empty())
      return make_error(Errc::invalid_argument, field + ": \"" + cgroups_path + "\" names no cgroup");
  }

  Version version = BERTH_TRY(detect(options));
  std::optional<OwnCgroups> own;
  if (relative) own = BERTH_TRY(read_own_cgroups(options.proc_self_cgroup));

  auto check_not_root = [&](const std::string& resolved) -> Status {
    if (resolved.empty() || resolved == "/")
      return make_error(Errc::invalid_argument,
                        field + ": \"" + cgroups_path + "\" is the cgroup root, which a container "
                        "cannot own");
    return ok();
  };

  if (version == Version::v2) {
    if (relative) {
      if (!own->unified)
        return make_error(Errc::not_found,
                          "cgroups: " + options.proc_self_cgroup + " has no cgroup v2 entry");
      // Our own cgroup holds our process, and a cgroup with processes cannot enable
      // controllers for children; its parent can.
      path = join(parent_of(*own->unified), path);
    }
    BERTH_TRY(check_not_root(path));
    return detail::make_v2(options.mountpoint, path, options);
  }

  auto hierarchies = BERTH_TRY(v1_hierarchies(options));
  for (auto& h : hierarchies) {
    if (auto it = options.v1_paths.find(h.name); it != options.v1_paths.end()) {
      h.path = BERTH_TRY(clean_path(it->second, "cgroups: saved path for " + h.name));
    } else if (relative) {
      h.path = join(BERTH_TRY(own_v1_path(*own, h, options.proc_self_cgroup)), path);
    } else {
      h.path = path;
    }
    BERTH_TRY(check_not_root(h.path));
  }
  return detail::make_v1(std::move(hierarchies), options);
}

}  // namespace berth::runtime::cgroup
