#include "instance/mounts.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

namespace berth::instance {

Result<Mount> parse_mount(std::string_view spec, const std::string& cwd) {
  Mount m;
  std::string_view path = spec;
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends_with(":ro")) {
    m.writable = false;
    path.remove_suffix(3);
  } else if (ends_with(":rw")) {
    path.remove_suffix(3);
  }
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "--mount " + std::string(spec) + ": " + why);
  };
  if (path.empty()) return bad("empty path (use PATH[:rw|ro])");
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      return bad("paths with double quotes, backslashes or control characters cannot be shared");
    }
  }
  std::filesystem::path p(path);
  if (p.is_relative()) {
    if (cwd.empty()) return bad("relative path and no current directory");
    p = std::filesystem::path(cwd) / p;
  }
  std::string normal = p.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (normal == "/") return bad("the host's root directory cannot be shared");
  m.path = normal;
  return m;
}

Status check_mount_source(const Mount& mount) {
  struct stat st {};
  if (::stat(mount.path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return make_error(Errc::not_found, "mount " + mount.path + " does not exist; create it or remove the --mount");
    }
    return sys_error("mount " + mount.path);
  }
  if (!S_ISDIR(st.st_mode)) return make_error(Errc::invalid_argument, "mount " + mount.path + " is not a directory");
  return ok();
}

Status check_mount_list(const std::vector<Mount>& mounts) {
  std::set<std::string> seen;
  for (const auto& m : mounts) {
    if (!seen.insert(m.path).second) {
      return make_error(Errc::invalid_argument, "mount " + m.path + " is listed twice");
    }
  }
  return ok();
}

std::string format_mount(const Mount& mount) { return mount.path + (mount.writable ? ":rw" : ":ro"); }

}  // namespace berth::instance
