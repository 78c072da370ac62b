// Opens a stream to a guest vsock port, whatever carries vsock on this host (DESIGN.md,
// "Transports for vsock on the host"): kernel AF_VSOCK, berth's userspace device, or VZ.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth {

class VsockConnector {
 public:
  virtual ~VsockConnector() = default;
  // A connected, blocking, close-on-exec stream socket; an error when nothing listens on
  // the port (yet) or the connection does not complete within `timeout`.
  virtual Result<UniqueFd> connect(uint32_t port, std::chrono::milliseconds timeout) = 0;
  virtual std::string describe() const = 0;
};

}  // namespace berth
