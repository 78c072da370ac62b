// HostBridge: the host's view of guest vsock ports, in the style of Firecracker's hybrid
// vsock. Clients connect to PATH and send "CONNECT <port>\n"; guest connections to host
// port P are forwarded to whatever listens on "PATH_P".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "event_loop.h"
#include "vsock_log.h"

namespace berth::vsock {

class HostBridge {
 public:
  // A client finished its handshake. early_data: bytes it sent after the CONNECT line.
  using OnConnect = std::function<void(UniqueFd client, uint32_t guest_port, std::string early_data)>;

  static constexpr size_t kMaxLine = 64;
  static constexpr size_t kMaxPending = 256;

  static Result<std::unique_ptr<HostBridge>> listen(EventLoop& loop, const std::string& path, OnConnect on_connect,
                                                    Log log,
                                                    std::chrono::milliseconds handshake_timeout = std::chrono::seconds(5));
  ~HostBridge();
  HostBridge(const HostBridge&) = delete;
  HostBridge& operator=(const HostBridge&) = delete;

  // The host end of a guest-initiated connection to `port`.
  Result<UniqueFd> connect_to_host_port(uint32_t port) const;
  std::string host_port_path(uint32_t port) const { return path_ + "_" + std::to_string(port); }

  // "CONNECT <port>" (newline already stripped; a trailing '\r' is tolerated).
  static std::optional<uint32_t> parse_connect_line(std::string_view line);

 private:
  struct Pending {
    UniqueFd fd;
    std::string buf;
    EventLoop::TimerId timer = 0;
  };

  HostBridge(EventLoop& loop, std::string path, UniqueFd listener, OnConnect on_connect, Log log,
             std::chrono::milliseconds handshake_timeout);
  void on_accept();
  void on_pending(int fd);
  void forget(int fd);

  EventLoop& loop_;
  std::string path_;
  UniqueFd listener_;
  OnConnect on_connect_;
  Log log_;
  std::chrono::milliseconds handshake_timeout_;
  std::unordered_map<int, Pending> pending_;
  LogLimiter accept_log_;
};

}  // namespace berth::vsock
