// VsockConnector for berth's userspace vsock device (vmhost/vsock): connect to its host
// socket, send "CONNECT <port>\n", expect "OK <n>\n"; after that the socket is the stream.
#pragma once

#include <string>

#include "vsock_connector.h"

namespace berth {

class UserspaceVsockConnector : public VsockConnector {
 public:
  explicit UserspaceVsockConnector(std::string host_socket) : host_socket_(std::move(host_socket)) {}
  Result<UniqueFd> connect(uint32_t port, std::chrono::milliseconds timeout) override;
  std::string describe() const override { return "userspace vsock via " + host_socket_; }

 private:
  std::string host_socket_;
};

}  // namespace berth
