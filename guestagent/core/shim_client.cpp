#include "shim_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "http/io.h"

namespace berth::agent {

Result<ShimConnection> ShimConnection::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return make_error(Errc::invalid_argument, "shim socket path too long: " + socket_path);
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) return make_error(Errc::not_found, "shim is not running (" + socket_path + ")", e);
    return sys_error("connect " + socket_path, e);
  }
  BERTH_TRY(http::set_nonblocking(fd.get()));
  ShimConnection c;
  c.fd_ = std::move(fd);
  return c;
}

Result<Json> ShimConnection::call(const shim::Request& request, int timeout_ms) {
  BERTH_TRY(http::write_all(fd_.get(), shim::encode_request(request)));
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return shim::parse_response(line);
    }
    char tmp[4096];
    auto n = http::read_some(fd_.get(), tmp, sizeof tmp, timeout_ms);
    if (!n) return tl::unexpected(n.error());
    if (*n == 0) return make_error(Errc::not_found, "shim closed the connection without answering");
    buf_.append(tmp, *n);
    if (buf_.size() > shim::kMaxRequestLine) return make_error(Errc::protocol, "shim answer too long");
  }
}

Result<Json> shim_call(const std::string& socket_path, const shim::Request& request, int timeout_ms) {
  auto c = BERTH_TRY(ShimConnection::connect(socket_path));
  return c.call(request, timeout_ms);
}

}  // namespace berth::agent
