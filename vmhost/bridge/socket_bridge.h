// The Docker socket bridge: a Unix socket on the host (docker.sock, mode 0600) whose every
// connection is piped to a guest vsock port (2375, the agent's Docker API). Nothing
// listens on TCP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "vsock_connector.h"

namespace berth::bridge {

struct BridgeOptions {
  std::string path;
  int mode = 0600;
  uint32_t guest_port = 0;
  std::chrono::milliseconds connect_timeout{10000};
  std::string instance;  // tags log messages
};

class SocketBridge {
 public:
  // Listening when this returns.
  static Result<std::unique_ptr<SocketBridge>> start(BridgeOptions options, std::shared_ptr<VsockConnector> connector,
                                                     std::shared_ptr<spdlog::logger> log);
  ~SocketBridge();
  SocketBridge(const SocketBridge&) = delete;
  SocketBridge& operator=(const SocketBridge&) = delete;

  // Stops accepting, ends open connections, removes the socket file. Idempotent.
  void stop();
  size_t active_connections();

 private:
  struct Conn {
    UniqueFd client;
    UniqueFd guest;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  SocketBridge(BridgeOptions options, std::shared_ptr<VsockConnector> connector, std::shared_ptr<spdlog::logger> log,
               UniqueFd listener, FdPair wake);
  void accept_loop();
  void serve(Conn& conn);
  void reap(bool all);

  BridgeOptions options_;
  std::shared_ptr<VsockConnector> connector_;
  std::shared_ptr<spdlog::logger> log_;
  UniqueFd listener_;
  FdPair wake_;
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::unique_ptr<Conn>> conns_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace berth::bridge
