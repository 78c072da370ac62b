// VsockEngine: the virtio-vsock device proper — connection table, stream state machine,
// credit flow control, and the scheduling of packets into the guest's rx ring.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "connection.h"
#include "event_loop.h"
#include "packet.h"
#include "vhost_user_server.h"
#include "virtqueue.h"
#include "vsock_log.h"

namespace berth::vsock {

inline constexpr size_t kRxQueue = 0;
inline constexpr size_t kTxQueue = 1;
inline constexpr size_t kEventQueue = 2;
inline constexpr size_t kNumQueues = 3;

class VsockEngine : public VhostUserBackend {
 public:
  struct Options {
    uint64_t guest_cid = 3;
    uint32_t buf_alloc = 256 * 1024;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds close_timeout{10000};
    size_t max_connections = 4096;
  };
  // Opens the host side of a guest-initiated connection to `port`.
  using HostConnector = std::function<Result<UniqueFd>(uint32_t port)>;

  VsockEngine(EventLoop& loop, Options options, HostConnector connector, Log log);
  ~VsockEngine() override;
  VsockEngine(const VsockEngine&) = delete;
  VsockEngine& operator=(const VsockEngine&) = delete;

  void attach(Virtqueue& rx, Virtqueue& tx) {
    rx_ = &rx;
    tx_ = &tx;
  }

  // A host client finished its CONNECT handshake: open a stream to guest_port.
  void connect_from_host(UniqueFd client, uint32_t guest_port, std::string early_data);
  size_t connection_count() const { return conns_.size(); }

  uint64_t device_features() const override;
  std::vector<uint8_t> device_config() const override;
  void queue_started(size_t index) override;
  void queue_stopped(size_t index) override;
  void queue_kicked(size_t index) override;
  void frontend_disconnected() override;

 private:
  Connection* find(ConnKey key, uint64_t serial);
  Connection& add_connection(ConnKey key, UniqueFd fd, Connection::State state);
  uint32_t allocate_host_port(uint32_t guest_port);

  // guest → host
  void process_tx();
  void handle_packet(const DescChain& chain);
  void handle_guest_request(const PacketHeader& h);
  void handle_response(Connection& c);
  void handle_rw(Connection& c, const PacketHeader& h, const DescChain& chain);
  void handle_shutdown(Connection& c, uint32_t flags);

  // host → guest
  void flush_rx();
  bool produce(Connection& c, const DescChain& buf);
  size_t read_payload(Connection& c, const DescChain& buf);
  void write_packet(const DescChain& buf, const PacketHeader& h);
  PacketHeader header_for(const Connection& c) const;
  void queue_rst(const PacketHeader& offending);

  // host socket side
  void on_host_event(ConnKey key, uint64_t serial, uint32_t events);
  void drain_to_host(Connection& c);
  void host_gone(Connection& c);

  // bookkeeping after any change to a connection
  void settle(ConnKey key, uint64_t serial);
  void schedule(Connection& c);
  void update_interest(Connection& c);
  bool maybe_finish(Connection& c);
  void reset(Connection& c, const char* why);
  void drop(Connection& c);

  EventLoop& loop_;
  Options options_;
  HostConnector connector_;
  Log log_;
  Virtqueue* rx_ = nullptr;
  Virtqueue* tx_ = nullptr;
  bool rx_live_ = false;
  bool tx_live_ = false;
  EventLoop::TimerId tx_resume_timer_ = 0;

  std::map<ConnKey, std::unique_ptr<Connection>> conns_;
  // Connections owing the guest a packet, served round-robin as rx buffers appear.
  std::deque<std::pair<ConnKey, uint64_t>> rx_queue_;
  // RSTs for packets that match no connection; bounded, since a guest can mint them freely.
  std::deque<PacketHeader> stray_rsts_;
  uint64_t next_serial_ = 1;
  uint32_t next_host_port_;
  LogLimiter bad_packet_log_;
  LogLimiter bad_buffer_log_;
  LogLimiter stray_log_;
};

}  // namespace berth::vsock
