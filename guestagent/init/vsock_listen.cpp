#include "init/vsock_listen.h"

#include <sys/socket.h>

#include <linux/vm_sockets.h>

#include <string>

namespace berth::agent::init {

Result<UniqueFd> listen_vsock(uint32_t port, int backlog) {
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("vsock socket (is the vsock transport module loaded?)");
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return sys_error("bind vsock port " + std::to_string(port));
  if (::listen(fd.get(), backlog) < 0) return sys_error("listen on vsock port " + std::to_string(port));
  return fd;
}

}  // namespace berth::agent::init
