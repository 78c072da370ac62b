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
  // a racing container process is still clamped to the root.
  char prefix[PATH_MAX];
  const char* p = skip_slashes(path);
  size_t len = 0;
  prefix[0] = '\0';
  while (*p) {
    const char* end = std::strchr(p, '/');
    size_t n = end ? static_cast<size_t>(end - p) : std::strlen(p);
    const char* next = end ? skip_slashes(end) : p + n;
    bool last = *next == '\0';
    if (len + n + 2 >= sizeof prefix) return -ENAMETOOLONG;
    if (len) prefix[len++] = '/';
    std::memcpy(prefix + len, p, n);
    len += n;
    prefix[len] = '\0';

    int probe = sys::openat2(root_fd, prefix, O_PATH | O_CLOEXEC, kResolve);
    if (probe < 0) {
      if (errno != ENOENT) return -errno;
      // Create the missing component in its (safely resolved) parent directory.
      char name[NAME_MAX + 1];
      if (n > NAME_MAX) return -ENAMETOOLONG;
      std::memcpy(name, p, n);
      name[n] = '\0';
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) return -EINVAL;
      UniqueFd parent;
      size_t plen = len - n;
      if (plen > 0) {
        prefix[plen - 1] = '\0';
        parent.reset(sys::openat2(root_fd, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, kResolve));
        prefix[plen - 1] = '/';
      } else {
        parent.reset(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
      }
      if (!parent) return -errno;
      int rc;
      if (last && kind == TargetKind::file) {
        rc = ::mknodat(parent.get(), name, S_IFREG | 0644, 0);
      } else {
        rc = ::mkdirat(parent.get(), name, static_cast<mode_t>(mode));
      }
      if (rc < 0 && errno != EEXIST) return -errno;
    } else {
      UniqueFd discard(probe);
    }
    p = next;
  }
  return resolve_in_root(root_fd, path, 0);
}

}  // namespace berth::runtime
