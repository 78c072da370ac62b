// Connection: one vsock stream between a guest port and a host Unix socket — its
// credit accounting, half-close state and the packets it still owes the guest.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/unique_fd.h"
#include "event_loop.h"
#include "packet.h"

namespace berth::vsock {

struct ConnKey {
  uint32_t host_port = 0;
  uint32_t guest_port = 0;
  friend auto operator<=>(const ConnKey&, const ConnKey&) = default;
};

// Bytes from the guest that the host socket has not taken yet.
class ByteQueue {
 public:
  bool empty() const { return head_ == buf_.size(); }
  size_t size() const { return buf_.size() - head_; }
  const uint8_t* data() const { return buf_.data() + head_; }
  void append(const uint8_t* data, size_t len);
  void consume(size_t len);
  void clear();

 private:
  std::vector<uint8_t> buf_;
  size_t head_ = 0;
};

struct Connection {
  enum class State { connecting, established };

  Connection(ConnKey k, uint64_t s, UniqueFd fd, State st, uint32_t our_buf_alloc)
      : key(k), serial(s), sock(std::move(fd)), state(st), buf_alloc(our_buf_alloc) {}

  const ConnKey key;
  const uint64_t serial;  // tells a connection apart from a later one with the same key
  UniqueFd sock;
  State state;

  // Credit, both directions. Counters wrap at 2^32 exactly like the header fields.
  uint32_t buf_alloc;               // how much guest data we buffer
  uint32_t rx_cnt = 0;              // payload bytes received from the guest
  uint32_t fwd_cnt = 0;             // ... of which handed to the host socket (or discarded)
  uint32_t advertised_fwd_cnt = 0;  // fwd_cnt in the last header the guest got
  uint32_t peer_buf_alloc = 0;
  uint32_t peer_fwd_cnt = 0;
  uint32_t tx_cnt = 0;  // payload bytes sent to the guest

  // Half-close state.
  bool host_eof = false;       // read EOF: the host client sends nothing more
  bool host_hup = false;       // the host client receives nothing more either
  bool host_wr_shut = false;   // we passed the guest's SHUTDOWN(SEND) on to the client
  bool guest_no_send = false;  // guest sent SHUTDOWN(SEND)
  bool guest_no_recv = false;  // guest sent SHUTDOWN(RCV)
  uint32_t shutdown_sent = 0;  // SHUTDOWN flags the guest already has

  // What the guest is still owed.
  bool pending_request = false;
  bool pending_response = false;
  bool pending_credit_update = false;
  bool pending_credit_request = false;
  uint32_t pending_shutdown = 0;
  bool host_readable = false;     // the client socket may hold data or EOF for the guest
  bool credit_requested = false;  // a CREDIT_REQUEST went out for the current stall
  std::string early_data;         // sent by the client behind its CONNECT line
  ByteQueue to_host;

  bool in_rx_queue = false;
  EventLoop::TimerId timer = 0;

  void update_peer_credit(const PacketHeader& h);
  // Bytes we may still send before the guest's buffer is full.
  uint32_t peer_free() const;
  // Bytes the guest may still send us.
  uint32_t our_free() const;
  // The guest believes less than half our buffer is free, and we have freed some since.
  bool credit_update_due() const;
  // Puts our credit into an outgoing header (every packet carries it).
  void stamp(PacketHeader& h);

  bool has_data_for_guest() const;
  bool can_send_data() const { return has_data_for_guest() && peer_free() > 0; }
  // SHUTDOWN flags our side has earned but the guest has not seen yet.
  uint32_t shutdown_owed() const;
  bool wants_rx() const;
};

}  // namespace berth::vsock
