#include "supervisor/console_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/common/fs.h"

namespace berth::supervisor {

std::string find_panic(std::string_view console) {
  static constexpr std::string_view kMarker = "Kernel panic - not syncing:";
  size_t at = console.rfind(kMarker);
  if (at == std::string_view::npos) return {};
  std::string_view rest = console.substr(at + kMarker.size());
  rest = rest.substr(0, rest.find_first_of("\r\n"));
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  return rest.empty() ? std::string("(no reason given)") : std::string(rest);
}

std::string find_panic_in_file(const std::string& path) {
  auto fd = fs::open(path, O_RDONLY);
  if (!fd) return {};
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return {};
  constexpr off_t kTail = 256 * 1024;
  off_t start = st.st_size > kTail ? st.st_size - kTail : 0;
  std::string buf(static_cast<size_t>(st.st_size - start), '\0');
  ssize_t n = ::pread(fd->get(), buf.data(), buf.size(), start);
  if (n <= 0) return {};
  buf.resize(static_cast<size_t>(n));
  return find_panic(buf);
}

}  // namespace berth::supervisor
