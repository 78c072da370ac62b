#include "backends/qemu/kernel_vsock_connector.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
// After sys/socket.h: it needs sa_family_t.
#include <linux/vm_sockets.h>

#include <cerrno>

namespace berth::qemu {

Result<UniqueFd> KernelVsockConnector::connect(uint32_t port, std::chrono::milliseconds timeout) {
  std::string what = "vsock cid " + std::to_string(cid_) + " port " + std::to_string(port);
  UniqueFd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket(AF_VSOCK)");
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof tv);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid_;
  addr.svm_port = port;
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    if (errno == ECONNRESET || errno == ECONNREFUSED) {
      return make_error(Errc::not_found, what + ": connection refused by the guest");
    }
    return sys_error("connect " + what);
  }
  return fd;
}

bool kernel_vsock_usable() {
  UniqueFd fd(::open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC));
  return fd.valid();
}

}  // namespace berth::qemu
