// A blocking client of shim.sock for tests, playing the agent: request lines, answers, and
// attach streams (raw or multiplexed), every read bounded by a timeout.
#pragma once

#include <string>
#include <string_view>

#include "berth/common/json.h"
#include "berth/common/unique_fd.h"
#include "berth/shim/frame.h"

namespace berth::test {

class ShimClient {
 public:
  explicit ShimClient(const std::string& socket_path);
  bool connected() const { return fd_.valid(); }

  bool send(std::string_view data);
  // One answer line (without newline); "" on EOF or timeout.
  std::string read_line(int timeout_ms = 10000);
  // Sends `request` as one line and parses the answer.
  Json request(const Json& request, int timeout_ms = 10000);
  // Reads until `done(received)` holds, EOF or timeout; returns everything received.
  template <class Pred>
  std::string read_until(Pred done, int timeout_ms = 10000);
  // Reads until EOF (or timeout).
  std::string read_all(int timeout_ms = 10000);
  bool eof() const { return eof_; }
  void shutdown_write();
  void close() { fd_.reset(); }

 private:
  bool read_some(int timeout_ms);
  UniqueFd fd_;
  std::string buffer_;
  bool eof_ = false;
};

// Splits a multiplexed attach stream into stdout and stderr text.
struct Demuxed {
  std::string out, err;
  bool valid = true;
};
Demuxed demux(std::string_view wire);

template <class Pred>
std::string ShimClient::read_until(Pred done, int timeout_ms) {
  while (!done(buffer_) && !eof_) {
    if (!read_some(timeout_ms)) break;
  }
  return std::move(buffer_);
}

}  // namespace berth::test
