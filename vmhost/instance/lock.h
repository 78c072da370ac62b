// The instance lock: an flock on `lock`, taken by `berth start` and handed to the vmhost
// process, which holds it for as long as it runs. So "lock held" means "a vmhost is alive
// for this instance", and two starts of one instance cannot both proceed. The kernel
// drops the lock when the holder dies, however it dies.
#pragma once

#include <optional>
#include <string>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::instance {

class Lock {
 public:
  // nullopt when another process (or another open of the file) holds it.
  static Result<std::optional<Lock>> try_acquire(const std::string& path);
  // A lock inherited across exec: the fd refers to the open file that holds it.
  static Lock adopt(UniqueFd fd) { return Lock(std::move(fd)); }

  int fd() const { return fd_.get(); }

 private:
  explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Whether some process holds the lock; false when the file does not exist.
Result<bool> lock_held(const std::string& path);

}  // namespace berth::instance
