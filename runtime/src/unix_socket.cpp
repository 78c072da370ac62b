#include "unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "init/fd_passing.h"
#include "init/plan.h"

namespace berth::runtime {

Result<UniqueFd> connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return make_error(Errc::invalid_argument, "socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return sys_error("connect to " + path);
  return fd;
}

Result<UniqueFd> receive_message(int sock, SyncMessage* msg) {
  int fd = -1;
  ssize_t n = receive_fd(sock, msg, sizeof *msg, &fd);
  if (n < 0) return sys_error("receive from container init");
  if (n == 0) msg->type = static_cast<SyncType>(0);
  return UniqueFd(fd);
}

}  // namespace berth::runtime
