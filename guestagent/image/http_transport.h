// One client connection for http_client: TCP with connect/stall timeouts, optionally TLS
// (OpenSSL; system CA bundle, SNI, host name check), and a read buffer for the HTTP parser.
// Internal to guestagent/image; http_client.h is the interface.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::image::detail {

// A transport failure: one of the kHttp* codes of http_client.h and a message for people.
struct TransportFailure {
  int code = 0;
  std::string message;
};
template <class T>
using TransportResult = tl::expected<T, TransportFailure>;

struct Endpoint {
  bool tls = false;
  std::string host;  // name or address literal, without IPv6 brackets
  uint16_t port = 0;
  bool verify_tls = true;

  // Connections are reused only for the same key.
  std::string key() const;
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Resolves, connects (trying each address) and does the TLS handshake, all within
  // connect_timeout.
  static TransportResult<std::unique_ptr<Connection>> open(const Endpoint& ep, std::chrono::seconds connect_timeout);

  const std::string& key() const { return key_; }
  // Each wait for the peer (to accept bytes or to send some) gives up after this long.
  void set_stall_timeout(std::chrono::seconds t) { stall_ = t; }

  TransportResult<void> send_all(std::string_view data);
  // Reads more bytes into the buffer; false at end of stream.
  TransportResult<bool> fill();
  // The unread bytes.
  std::string_view buffered() const { return std::string_view(buf_).substr(pos_); }
  void consume(size_t n);
  // True when the idle connection is still usable: no EOF, no unsolicited bytes.
  bool idle_usable() const;

 private:
  TransportResult<void> handshake(const Endpoint& ep, std::chrono::steady_clock::time_point deadline);
  // Waits until fd_ is readable (POLLIN) or writable (POLLOUT); false on timeout.
  TransportResult<bool> wait(short events, int timeout_ms);

  UniqueFd fd_;
  SSL* ssl_ = nullptr;
  std::string key_;
  std::string host_;
  std::chrono::seconds stall_{60};
  std::string buf_;
  size_t pos_ = 0;
};

}  // namespace berth::agent::image::detail
