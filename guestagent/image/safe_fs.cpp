#include "safe_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <set>
#include <utility>

#include "berth/common/fs.h"

namespace berth::agent::image::safefs {

namespace {
auto refuse(std::string_view path, std::string_view why) {
  return make_error(Errc::invalid_argument, "refusing path \"" + std::string(path) + "\": " + std::string(why));
}
}  // namespace

Result<std::vector<std::string>> split_relative(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return refuse(path, "contains a NUL byte");
  if (!path.empty() && path.front() == '/') return refuse(path, "absolute path");
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string_view c = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (c == "..") return refuse(path, "\"..\" component");
    if (!c.empty() && c != ".") out.emplace_back(c);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

Result<UniqueFd> open_dir_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open " + path);
  return UniqueFd(fd);
}

Status ensure_dir(const std::string& path, mode_t mode) {
  BERTH_TRY(fs::mkdir_p(path, mode));
  if (::chmod(path.c_str(), mode) < 0) return sys_error("chmod " + path);
  return ok();
}

Result<UniqueFd> open_dir(int root_fd, std::span<const std::string> components, bool create,
                          std::string_view display_path) {
  int fd = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return sys_error("dup directory fd");
  UniqueFd cur(fd);
  for (const auto& c : components) {
    int next = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(cur.get(), c.c_str(), 0755) < 0 && errno != EEXIST)
        return sys_error("mkdir \"" + c + "\" for " + std::string(display_path));
      next = ::openat(cur.get(), c.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        return refuse(display_path, "component \"" + c + "\" is a symlink or not a directory");
      return sys_error("open \"" + c + "\" of " + std::string(display_path));
    }
    cur.reset(next);
  }
  return cur;
}

Result<std::vector<std::string>> list_dir(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open directory");
  DIR* d = ::fdopendir(fd);
  if (!d) {
    UniqueFd guard(fd);
    return sys_error("fdopendir");
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  ::closedir(d);
  if (err) return sys_error("readdir", err);
  return names;
}

Status remove_children(int dirfd) {
  auto names = BERTH_TRY(list_dir(dirfd));
  for (const auto& n : names) BERTH_TRY(remove_at(dirfd, n));
  return ok();
}

Status remove_at(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT) return ok();
    return sys_error("stat \"" + name + "\"");
  }
  if (S_ISDIR(st.st_mode)) {
    int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_error("open \"" + name + "\"");
    UniqueFd child(fd);
    BERTH_TRY(remove_children(child.get()));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) return sys_error("rmdir \"" + name + "\"");
    return ok();
  }
  if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) return sys_error("unlink \"" + name + "\"");
  return ok();
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string p(path);
  long fd = ::syscall(SYS_openat2, root_fd, p.c_str(), &how, sizeof how);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno != ENOSYS) return sys_error("open " + p + " in root");
  // Pre-5.6 kernels: no symlink may be followed at all, which is stricter but still safe.
  std::string rel = p;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  auto comps = BERTH_TRY(split_relative(rel));
  if (comps.empty()) return open_dir(root_fd, {}, false, p);
  auto parent = BERTH_TRY(open_dir(root_fd, std::span(comps).first(comps.size() - 1), false, p));
  int f = ::openat(parent.get(), comps.back().c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (f < 0) return sys_error("open " + p + " in root");
  return UniqueFd(f);
}

namespace {
Status usage_walk(int dirfd, std::set<std::pair<dev_t, ino_t>>& seen, uint64_t& total) {
  auto names = BERTH_TRY(list_dir(dirfd));
  for (const auto& n : names) {
    struct stat st;
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    if (!S_ISDIR(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    if (S_ISDIR(st.st_mode)) {
      int fd = ::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      UniqueFd child(fd);
      BERTH_TRY(usage_walk(child.get(), seen, total));
    }
  }
  return ok();
}
}  // namespace

Result<uint64_t> disk_usage(int dirfd) {
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t total = 0;
  BERTH_TRY(usage_walk(dirfd, seen, total));
  return total;
}

}  // namespace berth::agent::image::safefs
