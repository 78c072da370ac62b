#include "copy_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "berth/common/unique_fd.h"
#include "image/safe_fs.h"

namespace berth::agent {

namespace {

Status copy_file(int src_dir, int dst_dir, const std::string& name, const struct stat& st, std::vector<char>& buffer) {
  UniqueFd in(::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return sys_error("open " + name);
  UniqueFd out(::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return sys_error("create " + name);
  char* buf = buffer.data();
  for (;;) {
    ssize_t n = ::read(in.get(), buf, buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + name);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(out.get(), buf + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return sys_error("write " + name);
      off += w;
    }
  }
  // Best effort, as cp -a: a volume on a file system without owners still gets the data.
  if (::fchown(out.get(), st.st_uid, st.st_gid) < 0 || ::fchmod(out.get(), st.st_mode & 07777) < 0) errno = 0;
  timespec times[2] = {st.st_atim, st.st_mtim};
  ::futimens(out.get(), times);
  return ok();
}

}  // namespace

Status copy_tree_with(int src_dir, int dst_dir, std::vector<char>& buffer);

Status copy_tree(int src_dir, int dst_dir) {
  // One heap buffer for the whole walk: it recurses per directory level on a small stack.
  std::vector<char> buffer(65536);
  return copy_tree_with(src_dir, dst_dir, buffer);
}

Status copy_tree_with(int src_dir, int dst_dir, std::vector<char>& buffer) {
  struct stat self {};
  if (::fstat(src_dir, &self) == 0) {
    if (::fchown(dst_dir, self.st_uid, self.st_gid) < 0 || ::fchmod(dst_dir, self.st_mode & 07777) < 0) errno = 0;
  }
  auto names = BERTH_TRY(image::safefs::list_dir(src_dir));
  for (const auto& name : names) {
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("stat " + name);
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR: {
        if (::mkdirat(dst_dir, name.c_str(), 0700) < 0 && errno != EEXIST) return sys_error("mkdir " + name);
        UniqueFd s(::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        UniqueFd d(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s || !d) return sys_error("open " + name);
        BERTH_TRY(copy_tree_with(s.get(), d.get(), buffer));
        break;
      }
      case S_IFREG:
        BERTH_TRY(copy_file(src_dir, dst_dir, name, st, buffer));
        break;
      case S_IFLNK: {
        std::vector<char> target(static_cast<size_t>(st.st_size) + 2);
        ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size() - 1);
        if (n < 0) return sys_error("readlink " + name);
        target[static_cast<size_t>(n)] = 0;
        if (::symlinkat(target.data(), dst_dir, name.c_str()) < 0) return sys_error("symlink " + name);
        ::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        break;
      }
      default:
        if (::mknodat(dst_dir, name.c_str(), st.st_mode, st.st_rdev) < 0) return sys_error("mknod " + name);
        ::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        break;
    }
  }
  return ok();
}

}  // namespace berth::agent
