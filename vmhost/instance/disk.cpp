#include "instance/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/common/fs.h"
#include "instance/size.h"

namespace berth::instance {

Status ensure_disk(const std::string& path, uint64_t size) {
  UniqueFd fd = BERTH_TRY(fs::open(path, O_RDWR | O_CREAT, 0600));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error("stat " + path);
  auto current = static_cast<uint64_t>(st.st_size);
  if (current == size) return ok();
  if (current > size) {
    return make_error(Errc::conflict, "disk " + path + " is " + format_size(current) + ", larger than the configured " +
                                          format_size(size) + "; disks cannot shrink");
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) return sys_error("resize " + path);
  return ok();
}

}  // namespace berth::instance
