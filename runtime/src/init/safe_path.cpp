#include "init/safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "berth/common/unique_fd.h"
#include "init/sys.h"

namespace berth::runtime {

namespace {
constexpr unsigned long long kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

const char* skip_slashes(const char* p) {
  while (*p == '/') ++p;
  return p;
}
}  // namespace

int resolve_in_root(int root_fd, const char* path, int flags) {
  const char* rel = skip_slashes(path);
  if (*rel == '\0') rel = ".";
  int fd = sys::openat2(root_fd, rel, (flags == 0 ? O_PATH : flags) | O_CLOEXEC, kResolve);
  return fd < 0 ? -errno : fd;
}

int open_in_root(int root_fd, const char* path, TargetKind kind, bool create, int mode) {
  int fd = resolve_in_root(root_fd, path, 0);
  if (fd >= 0 || fd != -ENOENT || !create) return fd;

  // Walk component by component, re-resolving the prefix each time so a symlink created by
  // a racing container process is still clamped to the root. A dangling symlink on the way
  // is followed by rewriting the path, so its target is created inside the root (like a
  // mkdir -p chrooted into the rootfs) and never on the host.
  char work[PATH_MAX];
  char prefix[PATH_MAX];
  size_t wlen = std::strlen(path);
  if (wlen >= sizeof work) return -ENAMETOOLONG;
  std::memcpy(work, path, wlen + 1);
  int links = 0;
  const char* p = skip_slashes(work);
  size_t len = 0;
  prefix[0] = '\0';
  while (*p) {
    const char* end = std::strchr(p, '/');
    size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
    const char* next = end ? skip_slashes(end) : p + n;
    bool last = *next == '\0';
    if (len + n + 2 >= sizeof prefix) return -ENAMETOOLONG;
    size_t parent_len = len;
    if (len) prefix[len++] = '/';
    std::memcpy(prefix + len, p, n);
    len += n;
    prefix[len] = '\0';

    int probe = sys::openat2(root_fd, prefix, O_PATH | O_CLOEXEC, kResolve);
    if (probe >= 0) {
      UniqueFd discard(probe);
      p = next;
      continue;
    }
    if (errno != ENOENT) return -errno;
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) return -ENAMETOOLONG;
    std::memcpy(name, p, n);
    name[n] = '\0';
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) return -EINVAL;
    UniqueFd parent;
    if (parent_len > 0) {
      prefix[parent_len] = '\0';
      parent.reset(sys::openat2(root_fd, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, kResolve));
      prefix[parent_len] = '/';
    } else {
      parent.reset(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    }
    if (!parent) return -errno;
    int rc = (last && kind == TargetKind::file) ? ::mknodat(parent.get(), name, S_IFREG | 0644, 0)
                                                 : ::mkdirat(parent.get(), name, static_cast<mode_t>(mode));
    if (rc == 0) {
      p = next;
      continue;
    }
    if (errno != EEXIST) return -errno;
    // It exists but did not resolve: a dangling symlink. Continue from its target.
    char target[PATH_MAX];
    ssize_t tl = ::readlinkat(parent.get(), name, target, sizeof target - 1);
    if (tl < 0) return -errno;
    target[tl] = '\0';
    if (++links > 40) return -ELOOP;
    char rebuilt[PATH_MAX];
    size_t rlen = 0;
    rebuilt[0] = '\0';
    if (target[0] != '/' && parent_len > 0) {
      prefix[parent_len] = '\0';
      if (!sys::append(rebuilt, sizeof rebuilt, &rlen, prefix)) return -ENAMETOOLONG;
      if (!sys::append(rebuilt, sizeof rebuilt, &rlen, "/")) return -ENAMETOOLONG;
    }
    if (!sys::append(rebuilt, sizeof rebuilt, &rlen, target)) return -ENAMETOOLONG;
    if (*next) {
      if (!sys::append(rebuilt, sizeof rebuilt, &rlen, "/")) return -ENAMETOOLONG;
      if (!sys::append(rebuilt, sizeof rebuilt, &rlen, next)) return -ENAMETOOLONG;
    }
    std::memcpy(work, rebuilt, rlen + 1);
    // ".." in the rebuilt path is clamped at the root by RESOLVE_IN_ROOT on every probe;
    // the walk itself restarts from the root.
    p = skip_slashes(work);
    len = 0;
    prefix[0] = '\0';
  }
  return resolve_in_root(root_fd, path, 0);
}

}  // namespace berth::runtime
