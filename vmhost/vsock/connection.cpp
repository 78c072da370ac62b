#include "connection.h"

#include <algorithm>

namespace berth::vsock {

void ByteQueue::append(const uint8_t* data, size_t len) { buf_.insert(buf_.end(), data, data + len); }

void ByteQueue::consume(size_t len) {
  head_ += std::min(len, size());
  if (head_ == buf_.size()) {
    clear();
  } else if (head_ > 64 * 1024 && head_ * 2 > buf_.size()) {
    // Compact once the consumed prefix dominates, so memory stays bounded by buf_alloc.
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void ByteQueue::clear() {
  buf_.clear();
  head_ = 0;
}

void Connection::update_peer_credit(const PacketHeader& h) {
  peer_buf_alloc = h.buf_alloc;
  peer_fwd_cnt = h.fwd_cnt;
  if (peer_free() > 0) credit_requested = false;
}

uint32_t Connection::peer_free() const {
  uint32_t in_flight = tx_cnt - peer_fwd_cnt;
  // A guest may shrink its buffer below what is already in flight.
  return in_flight >= peer_buf_alloc ? 0 : peer_buf_alloc - in_flight;
}

uint32_t Connection::our_free() const {
  uint32_t used = rx_cnt - fwd_cnt;
  return used >= buf_alloc ? 0 : buf_alloc - used;
}

bool Connection::credit_update_due() const {
  if (fwd_cnt == advertised_fwd_cnt) return false;
  uint32_t guest_view_used = std::min(rx_cnt - advertised_fwd_cnt, buf_alloc);
  return buf_alloc - guest_view_used < buf_alloc / 2;
}

void Connection::stamp(PacketHeader& h) {
  h.buf_alloc = buf_alloc;
  h.fwd_cnt = fwd_cnt;
  advertised_fwd_cnt = fwd_cnt;
  pending_credit_update = false;
}

bool Connection::has_data_for_guest() const {
  if (state != State::established || guest_no_recv) return false;
  return !early_data.empty() || (host_readable && !host_eof);
}

uint32_t Connection::shutdown_owed() const {
  uint32_t flags = 0;
  if (host_eof) flags |= kShutdownSend;
  if (host_hup) {
    flags |= kShutdownRcv;
    // A client that is gone sends nothing the guest would still accept.
    if (guest_no_recv) flags |= kShutdownSend;
  }
  return flags & ~shutdown_sent;
}

bool Connection::wants_rx() const {
  return pending_request || pending_response || pending_credit_update || pending_credit_request ||
         pending_shutdown != 0 || can_send_data();
}

}  // namespace berth::vsock
