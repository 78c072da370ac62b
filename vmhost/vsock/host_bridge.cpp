#include "host_bridge.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "unix_socket.h"

namespace berth::vsock {
namespace {

// Client input goes into logs; keep it to one printable line.
std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) out += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  return out;
}

}  // namespace

Result<std::unique_ptr<HostBridge>> HostBridge::listen(EventLoop& loop, const std::string& path, OnConnect on_connect,
                                                       Log log, std::chrono::milliseconds handshake_timeout) {
  UniqueFd listener = BERTH_TRY(listen_unix(path, 128));
  std::unique_ptr<HostBridge> bridge(
      new HostBridge(loop, path, std::move(listener), std::move(on_connect), std::move(log), handshake_timeout));
  HostBridge* self = bridge.get();
  BERTH_TRY(loop.add(bridge->listener_.get(), EPOLLIN, [self](uint32_t) { self->on_accept(); }));
  return bridge;
}

HostBridge::HostBridge(EventLoop& loop, std::string path, UniqueFd listener, OnConnect on_connect, Log log,
                       std::chrono::milliseconds handshake_timeout)
    : loop_(loop), path_(std::move(path)), listener_(std::move(listener)), on_connect_(std::move(on_connect)),
      log_(std::move(log)), handshake_timeout_(handshake_timeout) {}

HostBridge::~HostBridge() {
  while (!pending_.empty()) forget(pending_.begin()->first);
  loop_.remove(listener_.get());
  ::unlink(path_.c_str());
}

std::optional<uint32_t> HostBridge::parse_connect_line(std::string_view line) {
  constexpr std::string_view kVerb = "CONNECT ";
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.substr(0, kVerb.size()) != kVerb) return std::nullopt;
  std::string_view digits = line.substr(kVerb.size());
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  uint64_t port = 0;
  for (char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (port > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(port);
}

Result<UniqueFd> HostBridge::connect_to_host_port(uint32_t port) const { return connect_unix(host_port_path(port)); }

void HostBridge::on_accept() {
  for (;;) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // The client stays in the backlog and epoll keeps saying so: stop listening for a
        // moment rather than spin until an fd frees up.
        if (accept_log_.allow()) log_.warn("host socket: accept: {}; pausing for 100 ms", std::strerror(errno));
        (void)loop_.modify(listener_.get(), 0);
        loop_.add_timer(std::chrono::milliseconds(100), [this] { (void)loop_.modify(listener_.get(), EPOLLIN); });
      }
      return;
    }
    if (pending_.size() >= kMaxPending) {
      log_.warn("host socket: {} clients mid-handshake; dropping a new one", pending_.size());
      continue;
    }
    int raw = fd.get();
    auto added = loop_.add(raw, EPOLLIN, [this, raw](uint32_t) { on_pending(raw); });
    if (!added) {
      log_.error("host socket: {}", added.error().what());
      continue;
    }
    Pending p;
    p.fd = std::move(fd);
    p.timer = loop_.add_timer(handshake_timeout_, [this, raw] {
      auto it = pending_.find(raw);
      if (it == pending_.end()) return;
      it->second.timer = 0;
      log_.info("host socket: client sent no CONNECT line in time");
      forget(raw);
    });
    pending_.emplace(raw, std::move(p));
  }
}

void HostBridge::forget(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  if (it->second.timer) loop_.cancel_timer(it->second.timer);
  loop_.remove(fd);
  pending_.erase(it);
}

void HostBridge::on_pending(int fd) {
  auto it = pending_.find(fd);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  char chunk[512];
  ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    forget(fd);
    return;
  }
  p.buf.append(chunk, static_cast<size_t>(n));
  size_t newline = p.buf.find('\n');
  if (newline == std::string::npos) {
    if (p.buf.size() > kMaxLine) {
      log_.warn("host socket: handshake line too long; closing client");
      forget(fd);
    }
    return;
  }
  auto port = newline <= kMaxLine ? parse_connect_line(std::string_view(p.buf).substr(0, newline)) : std::nullopt;
  if (!port) {
    log_.warn("host socket: bad handshake line \"{}\"; closing client",
              printable(std::string_view(p.buf).substr(0, std::min(newline, kMaxLine))));
    forget(fd);
    return;
  }
  UniqueFd client = std::move(p.fd);
  std::string early = p.buf.substr(newline + 1);
  if (p.timer) loop_.cancel_timer(p.timer);
  loop_.remove(fd);
  pending_.erase(it);
  on_connect_(std::move(client), *port, std::move(early));
}

}  // namespace berth::vsock
