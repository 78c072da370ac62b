#include "connectors/userspace_connector.h"

#include "net/socket_io.h"

namespace berth {

Result<UniqueFd> UserspaceVsockConnector::connect(uint32_t port, std::chrono::milliseconds timeout) {
  auto deadline = net::Clock::now() + timeout;
  std::string what = "vsock port " + std::to_string(port);
  auto fd = net::connect_unix(host_socket_);
  if (!fd) return tl::unexpected(fd.error().context(what));
  BERTH_TRY(net::send_all(fd->get(), "CONNECT " + std::to_string(port) + "\n", what));
  // The device closes the socket when the guest refuses (nothing listens on the port).
  auto line = net::read_line(fd->get(), 64, deadline, what);
  if (!line) {
    if (line.error().code == Errc::protocol) {
      return make_error(Errc::not_found, what + ": connection refused by the guest");
    }
    return tl::unexpected(line.error());
  }
  if (line->rfind("OK ", 0) != 0) return make_error(Errc::protocol, what + ": unexpected reply \"" + *line + "\"");
  return std::move(*fd);
}

}  // namespace berth
