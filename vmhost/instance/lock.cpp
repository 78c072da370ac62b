#include "instance/lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>

#include "berth/common/fs.h"

namespace berth::instance {

Result<std::optional<Lock>> Lock::try_acquire(const std::string& path) {
  UniqueFd fd = BERTH_TRY(fs::open(path, O_RDWR | O_CREAT, 0600));
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::optional<Lock>();
    return sys_error("flock " + path);
  }
  return std::optional<Lock>(Lock(std::move(fd)));
}

Result<bool> lock_held(const std::string& path) {
  auto fd = fs::open(path, O_RDONLY);
  if (!fd) {
    if (fd.error().sys_errno == ENOENT) return false;
    return tl::unexpected(fd.error());
  }
  while (::flock(fd->get(), LOCK_SH | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return true;
    return sys_error("flock " + path);
  }
  // Closing the fd releases the probe's shared lock.
  return false;
}

}  // namespace berth::instance
