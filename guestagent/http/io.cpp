#include "io.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace berth::agent::http {

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return sys_error("set O_NONBLOCK");
  return ok();
}

Status set_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  if (flags < 0 || ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return sys_error("set FD_CLOEXEC");
  return ok();
}

Status write_all(int fd, std::string_view data, int timeout_ms) {
  bool is_socket = true;
  while (!data.empty()) {
    ssize_t n = is_socket ? ::send(fd, data.data(), data.size(), MSG_NOSIGNAL) : ::write(fd, data.data(), data.size());
    if (n < 0 && errno == ENOTSOCK) {
      is_socket = false;
      continue;
    }
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, timeout_ms);
      if (r == 0) return make_error(Errc::timeout, "peer stopped reading");
      if (r < 0 && errno != EINTR) return sys_error("poll");
      continue;
    }
    return sys_error("write");
  }
  return ok();
}

Result<size_t> read_some(int fd, char* buf, size_t size, int timeout_ms) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return size_t{0};
    if (errno != EAGAIN && errno != EWOULDBLOCK) return sys_error("read");
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    if (r == 0) return make_error(Errc::timeout, "nothing received in time");
    if (r < 0 && errno != EINTR) return sys_error("poll");
  }
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

bool peer_closed(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool peer_hung_up(int fd) {
  pollfd p{fd, 0, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  return (p.revents & (POLLHUP | POLLERR)) != 0;
}

void linger_before_close(int fd, int timeout_ms) {
  if (::shutdown(fd, SHUT_WR) != 0) return;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    auto n = read_some(fd, buf, sizeof buf, static_cast<int>(left.count()));
    if (!n || *n == 0) return;
  }
}

}  // namespace berth::agent::http
