#include "unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace berth::shim {

Result<UniqueFd> listen_unix(const std::string& path, int backlog) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return make_error(Errc::invalid_argument, "socket path longer than " + std::to_string(sizeof addr.sun_path - 1) + " bytes: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return sys_error("socket");
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return sys_error("bind " + path);
  if (::chmod(path.c_str(), 0600) < 0) return sys_error("chmod " + path);
  if (::listen(fd.get(), backlog) < 0) return sys_error("listen " + path);
  return fd;
}

Result<UniqueFd> accept_unix(int listen_fd) {
  int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return UniqueFd();
    return sys_error("accept");
  }
  return UniqueFd(fd);
}

Result<UniqueFd> receive_console(int listen_fd, int timeout_ms) {
  struct pollfd p {listen_fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return sys_error("poll console socket");
  if (r == 0) return make_error(Errc::timeout, "the runtime sent no terminal on the console socket");
  UniqueFd conn = BERTH_TRY(accept_unix(listen_fd));
  if (!conn) return make_error(Errc::protocol, "console socket: connection vanished");
  // The sender wrote before it exited, so the message is queued; wait briefly all the same.
  struct pollfd c {conn.get(), POLLIN, 0};
  while (::poll(&c, 1, timeout_ms) < 0 && errno == EINTR) {
  }
  char name[256];
  struct iovec iov {name, sizeof name};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("receive terminal from console socket");
  struct cmsghdr* c_msg = CMSG_FIRSTHDR(&msg);
  if (!c_msg || c_msg->cmsg_level != SOL_SOCKET || c_msg->cmsg_type != SCM_RIGHTS)
    return make_error(Errc::protocol, "console socket: message without a file descriptor");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c_msg), sizeof fd);
  return UniqueFd(fd);
}

bool socket_is_live(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

void drain_connections(int listen_fd) {
  for (;;) {
    auto c = accept_unix(listen_fd);
    if (!c || !*c) return;
  }
}

}  // namespace berth::shim
