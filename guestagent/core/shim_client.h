// Talking to a container's berth-shim over <shim-dir>/shim.sock (shim/protocol.md): one
// request line, one answer line; after a successful attach or attached exec the connection
// carries the process's stream.
#pragma once

#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "berth/shim/protocol.h"

namespace berth::agent {

class ShimConnection {
 public:
  // Errc::not_found when the socket is missing or refuses (the shim is gone).
  static Result<ShimConnection> connect(const std::string& socket_path);

  // One request, one answer; the shim's {"ok":false} answers come back as errors with its
  // code. timeout_ms < 0 waits forever (wait requests). Errc::not_found if the shim closes
  // the connection without answering (it exited).
  Result<Json> call(const shim::Request& request, int timeout_ms = 10000);

  int fd() const { return fd_.get(); }
  UniqueFd release() { return std::move(fd_); }
  // Stream bytes that arrived with the answer line.
  std::string take_read_ahead() { return std::exchange(buf_, {}); }

 private:
  UniqueFd fd_;
  std::string buf_;
};

// connect + call.
Result<Json> shim_call(const std::string& socket_path, const shim::Request& request, int timeout_ms = 10000);

}  // namespace berth::agent
