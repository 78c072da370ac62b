// The guest agent's control API (vsock 1024, HTTP/JSON under /berth/v1/) and the Docker
// API's /_ping (vsock 2375), as the vmhost uses them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "vsock_connector.h"

namespace berth::supervisor {

class AgentClient {
 public:
  explicit AgentClient(std::shared_ptr<VsockConnector> connector) : connector_(std::move(connector)) {}

  // GET /berth/v1/ready → 200 and its body ({"ready", "protocol", "version", "warnings", ...};
  // an empty object when the body is not JSON).
  Result<Json> ready(std::chrono::milliseconds timeout);
  // POST /berth/v1/shutdown: the agent stops containers, syncs and powers off.
  Status shutdown(std::chrono::milliseconds timeout);
  // POST /berth/v1/time with the host's clock (guest clocks drift under TCG and stop
  // while the host sleeps).
  Status sync_time(std::chrono::milliseconds timeout);
  // GET /_ping on the Docker API port → 200.
  Status docker_ping(std::chrono::milliseconds timeout);

 private:
  Result<std::string> call(uint32_t port, const char* method, const std::string& path, const std::string& body,
                           std::chrono::milliseconds timeout);
  std::shared_ptr<VsockConnector> connector_;
};

// The body of POST /berth/v1/time for a given instant.
std::string time_body(std::chrono::system_clock::time_point now);

}  // namespace berth::supervisor
