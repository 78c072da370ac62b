#include "net/socket_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth::net {

namespace {

Result<sockaddr_un> address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return make_error(Errc::invalid_argument, "Unix socket path is empty or longer than " +
                                                  std::to_string(sizeof addr.sun_path - 1) + " bytes: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

Result<UniqueFd> unix_socket() {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket(AF_UNIX)");
  return fd;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

}  // namespace

Result<UniqueFd> listen_unix(const std::string& path, int mode, int backlog) {
  sockaddr_un addr = BERTH_TRY(address(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return make_error(Errc::already_exists, path + " exists and is not a socket");
    UniqueFd probe = BERTH_TRY(unix_socket());
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return make_error(Errc::already_exists, "something is already listening on " + path);
    }
    ::unlink(path.c_str());
  }
  std::string temp = path + "." + std::to_string(::getpid()) + ".tmp";
  sockaddr_un temp_addr = BERTH_TRY(address(temp));
  ::unlink(temp.c_str());
  UniqueFd fd = BERTH_TRY(unix_socket());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&temp_addr), sizeof temp_addr) != 0) {
    return sys_error("bind " + temp);
  }
  // Before anyone can find it under its real name: the mode guards who may connect.
  if (::chmod(temp.c_str(), static_cast<mode_t>(mode)) != 0 || ::listen(fd.get(), backlog) != 0 ||
      ::rename(temp.c_str(), path.c_str()) != 0) {
    auto err = sys_error("listen on " + path);
    ::unlink(temp.c_str());
    return err;
  }
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path) {
  sockaddr_un addr = BERTH_TRY(address(path));
  UniqueFd fd = BERTH_TRY(unix_socket());
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    return sys_error("connect " + path);
  }
  return fd;
}

Status wait_readable(int fd, Clock::time_point deadline, std::string_view what) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return ok();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(std::string(what));
    return make_error(Errc::timeout, std::string(what) + ": timed out");
  }
}

Status send_all(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(std::string(what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<std::string> read_line(int fd, size_t max, Clock::time_point deadline, std::string_view what) {
  std::string line;
  while (line.size() < max) {
    BERTH_TRY(wait_readable(fd, deadline, what));
    char c;
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(std::string(what));
    }
    if (n == 0) return make_error(Errc::protocol, std::string(what) + ": connection closed");
    if (c == '\n') return line;
    line.push_back(c);
  }
  return make_error(Errc::protocol, std::string(what) + ": line longer than " + std::to_string(max) + " bytes");
}

Result<std::string> read_some(int fd, size_t max, Clock::time_point deadline, std::string_view what) {
  BERTH_TRY(wait_readable(fd, deadline, what));
  std::string buf(max, '\0');
  for (;;) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error(std::string(what));
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
}

}  // namespace berth::net
