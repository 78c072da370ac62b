// Defence against CVE-2019-5736-style attacks: a container process that gets hold of
// /proc/<runtime>/exe must find a sealed, anonymous copy rather than the real binary.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "berth/common/unique_fd.h"
#include "runtime.h"

namespace berth::runtime {

namespace {
constexpr unsigned kSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;

bool running_from_sealed_memfd() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (static_cast<unsigned>(seals) & kSeals) == kSeals;
}
}  // namespace

void ensure_cloned_binary(int /*argc*/, char** argv) {
  if (running_from_sealed_memfd()) return;
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return;
  struct stat st {};
  if (::fstat(self.get(), &st) < 0) return;
  UniqueFd mem(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) return;
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n = ::sendfile(mem.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n <= 0) return;
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, kSeals) < 0) return;
  // On failure we keep running as we are: the init is also non-dumpable, which covers most of it.
  ::fexecve(mem.get(), argv, environ);
}

}  // namespace berth::runtime
