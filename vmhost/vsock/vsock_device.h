// UserspaceVsock: berth's own virtio-vsock device for hosts without /dev/vhost-vsock.
//
// It is a vhost-user back-end for QEMU's `vhost-user-vsock-device`, and exposes the guest's
// vsock ports as host Unix sockets:
//   - host → guest: connect to `host_socket`, write "CONNECT <port>\n", read "OK <n>\n",
//     then the socket is a byte stream to guest port <port>;
//   - guest → host port P: forwarded to a Unix socket listening at "<host_socket>_P".
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "berth/common/result.h"

namespace berth::vsock {

struct Config {
  std::string vhost_user_socket;  // QEMU's -chardev socket,path=...
  std::string host_socket;
  uint64_t guest_cid = 3;
  std::string instance;  // tags log messages
  // Return from run() once QEMU disconnects, instead of waiting for it to reconnect.
  bool exit_on_disconnect = false;
  std::chrono::milliseconds connect_timeout{5000};
};

class UserspaceVsock {
 public:
  // Both sockets are listening when this returns, so QEMU can be started right after.
  static Result<std::unique_ptr<UserspaceVsock>> create(Config config);
  ~UserspaceVsock();
  UserspaceVsock(const UserspaceVsock&) = delete;
  UserspaceVsock& operator=(const UserspaceVsock&) = delete;

  // Serves until stop() (or, with exit_on_disconnect, until QEMU goes away).
  Status run();
  // Callable from any thread and from signal handlers.
  void stop();

 private:
  struct Impl;
  explicit UserspaceVsock(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::vsock
