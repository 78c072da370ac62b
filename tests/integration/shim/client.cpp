#include "client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace berth::test {

ShimClient::ShimClient(const std::string& socket_path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) fd_ = std::move(fd);
}

bool ShimClient::send(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ShimClient::read_some(int timeout_ms) {
  struct pollfd p {fd_.get(), POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return false;
  char buf[65536];
  ssize_t n = ::read(fd_.get(), buf, sizeof buf);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

std::string ShimClient::read_line(int timeout_ms) {
  while (buffer_.find('\n') == std::string::npos) {
    if (eof_ || !read_some(timeout_ms)) return "";
  }
  size_t nl = buffer_.find('\n');
  std::string line = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  return line;
}

Json ShimClient::request(const Json& request, int timeout_ms) {
  if (!send(request.dump() + "\n")) return Json{{"ok", false}, {"error", "test client: send failed"}};
  std::string line = read_line(timeout_ms);
  if (line.empty()) return Json{{"ok", false}, {"error", "test client: no answer"}};
  return Json::parse(line);
}

std::string ShimClient::read_all(int timeout_ms) {
  return read_until([](const std::string&) { return false; }, timeout_ms);
}

void ShimClient::shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

Demuxed demux(std::string_view wire) {
  Demuxed d;
  shim::FrameDecoder decoder;
  d.valid = decoder.feed(wire, [&](shim::Stream s, std::string_view payload) {
    (s == shim::Stream::err ? d.err : d.out).append(payload);
  });
  if (decoder.pending() != 0) d.valid = false;
  return d;
}

}  // namespace berth::test
