#include "berth/common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace berth::fs {

Result<UniqueFd> open(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return sys_error("open " + path);
  return UniqueFd(fd);
}

Result<std::string> read_file(const std::string& path) {
  auto fd = BERTH_TRY(open(path, O_RDONLY));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

static Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Status write_file(const std::string& path, std::string_view data, int mode) {
  auto fd = BERTH_TRY(open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  return write_all(fd.get(), data, path);
}

static Status write_and_rename(const std::string& path, std::string_view data, int mode, bool durable) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    auto fd = BERTH_TRY(open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    if (auto st = write_all(fd.get(), data, tmp); !st) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (durable && ::fsync(fd.get()) < 0) {
      auto err = sys_error("fsync " + tmp);
      ::unlink(tmp.c_str());
      return err;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    auto err = sys_error("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return err;
  }
  return ok();
}

Status write_file_atomic(const std::string& path, std::string_view data, int mode) {
  return write_and_rename(path, data, mode, /*durable=*/true);
}

Status replace_file(const std::string& path, std::string_view data, int mode) {
  return write_and_rename(path, data, mode, /*durable=*/false);
}

Status mkdir_p(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return sys_error("mkdir " + path, ec.value());
  (void)mode;
  return ok();
}

Status remove_all(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec.value() != ENOENT) return sys_error("remove " + path, ec.value());
  return ok();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace berth::fs
