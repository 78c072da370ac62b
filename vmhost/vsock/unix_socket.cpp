#include "unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::vsock {
namespace {

Result<sockaddr_un> make_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty()) return make_error(Errc::invalid_argument, "empty Unix socket path");
  if (path.size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid_argument, "Unix socket path longer than " +
                                                  std::to_string(sizeof addr.sun_path - 1) + " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Result<UniqueFd> new_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket(AF_UNIX)");
  return fd;
}

Status remove_stale(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    return sys_error("stat " + path);
  }
  if (!S_ISSOCK(st.st_mode)) return make_error(Errc::already_exists, path + " exists and is not a socket");
  UniqueFd probe = BERTH_TRY(new_socket());
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 || errno == EAGAIN) {
    return make_error(Errc::already_exists, "something is already listening on " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("unlink stale socket " + path);
  return ok();
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& path, int backlog) {
  sockaddr_un addr = BERTH_TRY(make_address(path));
  BERTH_TRY(remove_stale(path, addr));
  UniqueFd fd = BERTH_TRY(new_socket());
  // Whoever waits for the socket file to appear (QEMU's launcher, tests) must find it
  // already listening: bind under a temporary name, listen, then rename into place.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string temp = dir + "." + name + "." + std::to_string(::getpid());
  auto temp_addr = make_address(temp);
  const std::string& bound = temp_addr ? temp : path;
  const sockaddr_un& bind_addr = temp_addr ? *temp_addr : addr;
  if (temp_addr) ::unlink(temp.c_str());
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&bind_addr), sizeof bind_addr) != 0) {
    return sys_error("bind " + bound);
  }
  if (::listen(fd.get(), backlog) != 0) {
    auto err = sys_error("listen " + bound);
    ::unlink(bound.c_str());
    return err;
  }
  if (temp_addr && ::rename(temp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("rename " + temp + " to " + path);
    ::unlink(temp.c_str());
    return err;
  }
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un addr = BERTH_TRY(make_address(path));
  UniqueFd fd = BERTH_TRY(new_socket());
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return sys_error("connect " + path);
  }
  return fd;
}

}  // namespace berth::vsock
