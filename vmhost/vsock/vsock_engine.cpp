#include "vsock_engine.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vhost_user_protocol.h"

namespace berth::vsock {
namespace {

// Host-side ports for host-initiated streams; far above anything a guest service uses.
constexpr uint32_t kFirstHostPort = 1u << 30;
constexpr uint32_t kLastHostPort = 0xfffffffeu;
constexpr size_t kMaxStrayRsts = 4096;
// Chains handled per tx pass before yielding to other event sources.
constexpr size_t kTxBudget = 512;
constexpr size_t kMaxIov = 1024;

// iovecs covering bytes [offset, offset + len) of a span list.
std::vector<iovec> iov_of(const std::vector<HostSpan>& spans, size_t offset, size_t len) {
  std::vector<iovec> iov;
  for (const auto& s : spans) {
    if (len == 0 || iov.size() == kMaxIov) break;
    if (offset >= s.size) {
      offset -= s.size;
      continue;
    }
    size_t n = std::min(s.size - offset, len);
    iov.push_back(iovec{s.data + offset, n});
    len -= n;
    offset = 0;
  }
  return iov;
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

VsockEngine::VsockEngine(EventLoop& loop, Options options, HostConnector connector, Log log)
    : loop_(loop), options_(options), connector_(std::move(connector)), log_(std::move(log)),
      next_host_port_(kFirstHostPort) {}

VsockEngine::~VsockEngine() {
  if (tx_resume_timer_) loop_.cancel_timer(tx_resume_timer_);
  while (!conns_.empty()) drop(*conns_.begin()->second);
}

uint64_t VsockEngine::device_features() const {
  return vhost_user::kFeatureEventIdx | vhost_user::kFeatureIndirectDesc;
}

std::vector<uint8_t> VsockEngine::device_config() const {
  std::vector<uint8_t> config(8);
  uint64_t cid = options_.guest_cid;
  for (size_t i = 0; i < 8; ++i) config[i] = static_cast<uint8_t>(cid >> (8 * i));
  return config;
}

void VsockEngine::queue_started(size_t index) {
  if (index == kRxQueue) {
    rx_live_ = true;
    flush_rx();
  } else if (index == kTxQueue) {
    tx_live_ = true;
    process_tx();
  }
}

void VsockEngine::queue_stopped(size_t index) {
  // Connections survive a stopped ring (the VM may just be paused); packets wait.
  if (index == kRxQueue) rx_live_ = false;
  if (index == kTxQueue) tx_live_ = false;
}

void VsockEngine::queue_kicked(size_t index) {
  if (index == kRxQueue) flush_rx();
  if (index == kTxQueue) process_tx();
}

void VsockEngine::frontend_disconnected() {
  rx_live_ = false;
  tx_live_ = false;
  size_t n = conns_.size();
  while (!conns_.empty()) drop(*conns_.begin()->second);
  rx_queue_.clear();
  stray_rsts_.clear();
  if (n) log_.info("closed {} connections: the VM went away", n);
}

Connection* VsockEngine::find(ConnKey key, uint64_t serial) {
  auto it = conns_.find(key);
  if (it == conns_.end() || it->second->serial != serial) return nullptr;
  return it->second.get();
}

Connection& VsockEngine::add_connection(ConnKey key, UniqueFd fd, Connection::State state) {
  uint64_t serial = next_serial_++;
  auto conn = std::make_unique<Connection>(key, serial, std::move(fd), state, options_.buf_alloc);
  Connection& c = *conn;
  conns_[key] = std::move(conn);
  auto added = loop_.add(c.sock.get(), 0, [this, key, serial](uint32_t events) { on_host_event(key, serial, events); });
  if (!added) log_.error("watching connection {}:{}: {}", key.host_port, key.guest_port, added.error().what());
  return c;
}

uint32_t VsockEngine::allocate_host_port(uint32_t guest_port) {
  for (;;) {
    uint32_t port = next_host_port_;
    next_host_port_ = port == kLastHostPort ? kFirstHostPort : port + 1;
    if (!conns_.count(ConnKey{port, guest_port})) return port;
  }
}

// ---- host-initiated connections -------------------------------------------------------

void VsockEngine::connect_from_host(UniqueFd client, uint32_t guest_port, std::string early_data) {
  if (conns_.size() >= options_.max_connections) {
    log_.warn("refusing host connection to guest port {}: {} connections open", guest_port, conns_.size());
    return;
  }
  ConnKey key{allocate_host_port(guest_port), guest_port};
  Connection& c = add_connection(key, std::move(client), Connection::State::connecting);
  c.early_data = std::move(early_data);
  c.pending_request = true;
  uint64_t serial = c.serial;
  c.timer = loop_.add_timer(options_.connect_timeout, [this, key, serial] {
    Connection* conn = find(key, serial);
    if (!conn) return;
    conn->timer = 0;
    if (conn->state != Connection::State::connecting) return;
    log_.info("connection to guest port {} timed out", key.guest_port);
    // Only a guest that saw our REQUEST needs to hear it is off.
    if (conn->pending_request) {
      drop(*conn);
    } else {
      reset(*conn, "connect timeout");
    }
    flush_rx();
  });
  log_.debug("host connection {} -> guest port {}", key.host_port, guest_port);
  schedule(c);
  flush_rx();
}

void VsockEngine::handle_response(Connection& c) {
  if (c.state != Connection::State::connecting) {
    reset(c, "RESPONSE on an established connection");
    return;
  }
  c.state = Connection::State::established;
  if (c.timer) {
    loop_.cancel_timer(c.timer);
    c.timer = 0;
  }
  std::string line = "OK " + std::to_string(c.key.host_port) + "\n";
  // The client has read nothing from this socket yet, so its buffer has room.
  ssize_t n = ::send(c.sock.get(), line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != static_cast<ssize_t>(line.size())) {
    reset(c, "host client went away before the guest accepted");
    return;
  }
  log_.debug("connection {} -> guest port {} established", c.key.host_port, c.key.guest_port);
}

// ---- guest → host ---------------------------------------------------------------------

void VsockEngine::process_tx() {
  if (!tx_live_) return;
  size_t budget = kTxBudget;
  for (;;) {
    while (budget > 0) {
      auto chain = tx_->pop();
      if (!chain) break;
      handle_packet(*chain);
      tx_->push(chain->head, 0);
      --budget;
    }
    if (budget == 0) {
      // Let host sockets and the rx side run; finish the ring on the next loop pass.
      if (!tx_resume_timer_) {
        tx_resume_timer_ = loop_.add_timer(std::chrono::milliseconds(0), [this] {
          tx_resume_timer_ = 0;
          process_tx();
        });
      }
      break;
    }
    if (!tx_->arm_kicks()) break;
  }
  tx_->notify();
  flush_rx();
}

void VsockEngine::handle_packet(const DescChain& chain) {
  if (chain.readable_len < kHeaderSize) {
    if (bad_packet_log_.allow()) log_.warn("tx packet of {} bytes is shorter than a header", chain.readable_len);
    return;
  }
  uint8_t raw[kHeaderSize];
  copy_from_spans(chain.readable, 0, raw, kHeaderSize);
  PacketHeader h = decode_header(raw);

  if (h.src_cid != options_.guest_cid) {
    if (bad_packet_log_.allow()) log_.warn("dropping tx packet with source cid {}", h.src_cid);
    return;
  }
  // Only the host is reachable through this device, and only with streams.
  if (h.dst_cid != kHostCid || h.type != kTypeStream) {
    if (h.op != static_cast<uint16_t>(Op::rst)) queue_rst(h);
    return;
  }

  ConnKey key{h.dst_port, h.src_port};
  auto it = conns_.find(key);
  if (it == conns_.end()) {
    if (h.op == static_cast<uint16_t>(Op::request)) {
      handle_guest_request(h);
    } else if (h.op != static_cast<uint16_t>(Op::rst)) {
      queue_rst(h);
    }
    return;
  }
  Connection& c = *it->second;
  uint64_t serial = c.serial;
  c.update_peer_credit(h);
  switch (static_cast<Op>(h.op)) {
    case Op::response:
      handle_response(c);
      break;
    case Op::rw:
      handle_rw(c, h, chain);
      break;
    case Op::credit_update:
      break;  // the header's credit fields were the message
    case Op::credit_request:
      c.pending_credit_update = true;
      break;
    case Op::shutdown:
      handle_shutdown(c, h.flags);
      break;
    case Op::rst:
      log_.debug("guest reset connection {}:{}", key.host_port, key.guest_port);
      drop(c);
      break;
    case Op::request:
      reset(c, "REQUEST for an existing connection");
      break;
    default:
      reset(c, "unknown op");
      break;
  }
  settle(key, serial);
}

void VsockEngine::handle_guest_request(const PacketHeader& h) {
  if (conns_.size() >= options_.max_connections) {
    log_.warn("refusing guest connection to host port {}: {} connections open", h.dst_port, conns_.size());
    queue_rst(h);
    return;
  }
  auto fd = connector_(h.dst_port);
  if (!fd) {
    log_.debug("guest connection to host port {} refused: {}", h.dst_port, fd.error().what());
    queue_rst(h);
    return;
  }
  ConnKey key{h.dst_port, h.src_port};
  Connection& c = add_connection(key, std::move(*fd), Connection::State::established);
  c.update_peer_credit(h);
  c.pending_response = true;
  log_.debug("guest port {} connected to host port {}", key.guest_port, key.host_port);
  settle(key, c.serial);
}

void VsockEngine::handle_rw(Connection& c, const PacketHeader& h, const DescChain& chain) {
  if (h.len > kMaxPayload || h.len > chain.readable_len - kHeaderSize) {
    reset(c, "RW length exceeds its buffer");
    return;
  }
  if (c.state != Connection::State::established || c.guest_no_send) {
    reset(c, "RW on a connection not open for guest data");
    return;
  }
  if (h.len > c.our_free()) {
    reset(c, "guest sent more than its credit");
    return;
  }
  c.rx_cnt += h.len;
  if (c.host_hup) {
    c.fwd_cnt += h.len;  // nobody left to read it
    return;
  }
  size_t offset = kHeaderSize;
  size_t remaining = h.len;
  if (c.to_host.empty()) {
    auto iov = iov_of(chain.readable, offset, remaining);
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iov.size();
    ssize_t n = iov.empty() ? 0 : ::sendmsg(c.sock.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && !would_block(errno)) {
      c.fwd_cnt += h.len;
      host_gone(c);
      return;
    }
    if (n > 0) {
      c.fwd_cnt += static_cast<uint32_t>(n);
      offset += static_cast<size_t>(n);
      remaining -= static_cast<size_t>(n);
    }
  }
  if (remaining > 0) {
    std::vector<uint8_t> rest(remaining);
    copy_from_spans(chain.readable, offset, rest.data(), remaining);
    c.to_host.append(rest.data(), rest.size());
  }
}

void VsockEngine::handle_shutdown(Connection& c, uint32_t flags) {
  if (flags & kShutdownRcv && !c.guest_no_recv) {
    c.guest_no_recv = true;
    c.early_data.clear();
    c.host_readable = false;
    // Lets the client's further writes fail instead of piling up unread.
    ::shutdown(c.sock.get(), SHUT_RD);
  }
  if (flags & kShutdownSend) c.guest_no_send = true;
  drain_to_host(c);
}

// ---- host → guest ---------------------------------------------------------------------

PacketHeader VsockEngine::header_for(const Connection& c) const {
  PacketHeader h;
  h.src_cid = kHostCid;
  h.dst_cid = options_.guest_cid;
  h.src_port = c.key.host_port;
  h.dst_port = c.key.guest_port;
  h.type = kTypeStream;
  return h;
}

void VsockEngine::queue_rst(const PacketHeader& offending) {
  if (stray_rsts_.size() >= kMaxStrayRsts) {
    if (stray_log_.allow()) log_.warn("rx backlog full; not answering a packet to port {}", offending.dst_port);
    return;
  }
  PacketHeader h;
  h.src_cid = offending.dst_cid;
  h.dst_cid = offending.src_cid;
  h.src_port = offending.dst_port;
  h.dst_port = offending.src_port;
  h.type = offending.type;
  h.op = static_cast<uint16_t>(Op::rst);
  stray_rsts_.push_back(h);
}

void VsockEngine::write_packet(const DescChain& buf, const PacketHeader& h) {
  uint8_t raw[kHeaderSize];
  encode_header(h, raw);
  copy_to_spans(buf.writable, 0, raw, kHeaderSize);
  rx_->push(buf.head, static_cast<uint32_t>(kHeaderSize + h.len));
}

void VsockEngine::flush_rx() {
  if (!rx_live_) return;
  while (!stray_rsts_.empty() || !rx_queue_.empty()) {
    auto buf = rx_->pop();
    if (!buf) {
      if (rx_->arm_kicks()) continue;
      break;
    }
    // Every packet needs a header and data needs room behind it.
    if (buf->writable_len <= kHeaderSize) {
      if (bad_buffer_log_.allow()) log_.warn("rx buffer of {} bytes is too small; returned unused", buf->writable_len);
      rx_->push(buf->head, 0);
      continue;
    }
    if (!stray_rsts_.empty()) {
      write_packet(*buf, stray_rsts_.front());
      stray_rsts_.pop_front();
      continue;
    }
    bool used = false;
    while (!used && !rx_queue_.empty()) {
      auto [key, serial] = rx_queue_.front();
      rx_queue_.pop_front();
      Connection* c = find(key, serial);
      if (!c) continue;
      c->in_rx_queue = false;
      used = produce(*c, *buf);
      // Back of the line if it has more: connections share the ring round-robin.
      settle(key, serial);
    }
    if (!used) {
      rx_->unpop();
      // Settling a connection may just have queued an RST; that one can use the buffer.
      if (stray_rsts_.empty()) break;
    }
  }
  // Also covers malformed buffers the ring handed back on its own.
  rx_->notify();
}

bool VsockEngine::produce(Connection& c, const DescChain& buf) {
  for (;;) {
    c.pending_shutdown |= c.shutdown_owed();
    PacketHeader h = header_for(c);
    if (c.pending_request) {
      c.pending_request = false;
      h.op = static_cast<uint16_t>(Op::request);
    } else if (c.pending_response) {
      c.pending_response = false;
      h.op = static_cast<uint16_t>(Op::response);
    } else if (c.can_send_data()) {
      size_t n = read_payload(c, buf);
      if (n == 0) continue;  // EOF or nothing after all; state changed, look again
      h.op = static_cast<uint16_t>(Op::rw);
      h.len = static_cast<uint32_t>(n);
      c.tx_cnt += h.len;
    } else if (c.pending_shutdown) {
      h.op = static_cast<uint16_t>(Op::shutdown);
      h.flags = c.pending_shutdown;
      c.shutdown_sent |= c.pending_shutdown;
      c.pending_shutdown = 0;
      if (c.shutdown_sent == kShutdownBoth && !c.timer) {
        // The guest normally answers with RST; don't wait forever if it does not.
        ConnKey key = c.key;
        uint64_t serial = c.serial;
        c.timer = loop_.add_timer(options_.close_timeout, [this, key, serial] {
          if (Connection* conn = find(key, serial)) {
            conn->timer = 0;
            reset(*conn, "guest did not close");
            flush_rx();
          }
        });
      }
    } else if (c.pending_credit_update) {
      h.op = static_cast<uint16_t>(Op::credit_update);
    } else if (c.pending_credit_request) {
      c.pending_credit_request = false;
      h.op = static_cast<uint16_t>(Op::credit_request);
    } else {
      return false;
    }
    c.stamp(h);
    write_packet(buf, h);
    return true;
  }
}

size_t VsockEngine::read_payload(Connection& c, const DescChain& buf) {
  size_t cap = std::min<size_t>({buf.writable_len - kHeaderSize, c.peer_free(), kMaxPayload});
  if (!c.early_data.empty()) {
    size_t n = std::min(cap, c.early_data.size());
    copy_to_spans(buf.writable, kHeaderSize, c.early_data.data(), n);
    c.early_data.erase(0, n);
    return n;
  }
  auto iov = iov_of(buf.writable, kHeaderSize, cap);
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  ssize_t n = ::recvmsg(c.sock.get(), &msg, MSG_DONTWAIT);
  if (n > 0) return static_cast<size_t>(n);
  c.host_readable = false;
  if (n == 0) {
    c.host_eof = true;
  } else if (!would_block(errno)) {
    c.host_eof = true;
    host_gone(c);
  }
  return 0;
}

// ---- host socket side -------------------------------------------------------------------

void VsockEngine::on_host_event(ConnKey key, uint64_t serial, uint32_t events) {
  Connection* c = find(key, serial);
  if (!c) return;
  if (events & EPOLLOUT) drain_to_host(*c);
  // Once we shut our write side, HUP only says the client shut its own: that is an EOF
  // (found by reading), not a client that stopped receiving.
  if ((events & EPOLLERR) || ((events & EPOLLHUP) && !c->host_wr_shut)) host_gone(*c);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (c->state == Connection::State::established && !c->host_eof && !c->guest_no_recv) c->host_readable = true;
  }
  settle(key, serial);
  flush_rx();
}

void VsockEngine::drain_to_host(Connection& c) {
  while (!c.to_host.empty()) {
    ssize_t n = ::send(c.sock.get(), c.to_host.data(), c.to_host.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.to_host.consume(static_cast<size_t>(n));
      c.fwd_cnt += static_cast<uint32_t>(n);
      continue;
    }
    if (n < 0 && would_block(errno)) break;
    host_gone(c);
    break;
  }
  if (c.to_host.empty() && c.guest_no_send && !c.host_wr_shut && !c.host_hup) {
    ::shutdown(c.sock.get(), SHUT_WR);
    c.host_wr_shut = true;
  }
}

void VsockEngine::host_gone(Connection& c) {
  if (c.host_hup) return;
  c.host_hup = true;
  // Bytes it will never read still count as consumed, or the guest's credit would stall.
  c.fwd_cnt += static_cast<uint32_t>(c.to_host.size());
  c.to_host.clear();
  // Whatever it sent before leaving is still readable; reading finds the EOF.
  if (c.state == Connection::State::established && !c.host_eof && !c.guest_no_recv) c.host_readable = true;
}

// ---- bookkeeping ------------------------------------------------------------------------

void VsockEngine::settle(ConnKey key, uint64_t serial) {
  Connection* c = find(key, serial);
  if (!c) return;
  if (c->state == Connection::State::connecting && c->host_hup) {
    reset(*c, "host client left while connecting");
    return;
  }
  if (maybe_finish(*c)) return;
  schedule(*c);
  update_interest(*c);
}

void VsockEngine::schedule(Connection& c) {
  c.pending_shutdown |= c.shutdown_owed();
  if (c.has_data_for_guest() && c.peer_free() == 0 && !c.credit_requested) {
    c.pending_credit_request = true;
    c.credit_requested = true;
  }
  if (c.credit_update_due()) c.pending_credit_update = true;
  if (!c.in_rx_queue && c.wants_rx()) {
    rx_queue_.emplace_back(c.key, c.serial);
    c.in_rx_queue = true;
  }
}

void VsockEngine::update_interest(Connection& c) {
  uint32_t events = 0;
  if (c.state == Connection::State::established) {
    // Read only when the result has somewhere to go; the data waits in the socket otherwise,
    // which is what pushes back on the client.
    bool want_in = !c.host_eof && !c.guest_no_recv && !c.host_readable && c.early_data.empty() && c.peer_free() > 0;
    if (want_in) events |= EPOLLIN;
    if (!c.to_host.empty() && !c.host_hup) events |= EPOLLOUT;
  }
  auto status = loop_.modify(c.sock.get(), events);
  if (!status) log_.error("connection {}:{}: {}", c.key.host_port, c.key.guest_port, status.error().what());
}

bool VsockEngine::maybe_finish(Connection& c) {
  // The guest closed both directions: once its data is delivered, confirm with RST.
  if (c.guest_no_send && c.guest_no_recv && c.to_host.empty()) {
    log_.debug("connection {}:{} closed by guest", c.key.host_port, c.key.guest_port);
    reset(c, nullptr);
    return true;
  }
  return false;
}

void VsockEngine::reset(Connection& c, const char* why) {
  if (why) log_.debug("resetting connection {}:{}: {}", c.key.host_port, c.key.guest_port, why);
  PacketHeader h;
  h.src_cid = options_.guest_cid;
  h.dst_cid = kHostCid;
  h.src_port = c.key.guest_port;
  h.dst_port = c.key.host_port;
  h.type = kTypeStream;
  queue_rst(h);
  drop(c);
}

void VsockEngine::drop(Connection& c) {
  if (c.timer) loop_.cancel_timer(c.timer);
  loop_.remove(c.sock.get());
  ConnKey key = c.key;
  uint64_t serial = c.serial;
  if (c.in_rx_queue) {
    // Otherwise a guest that posts no rx buffers lets dead entries pile up.
    std::erase_if(rx_queue_, [&](const auto& entry) { return entry.first == key && entry.second == serial; });
  }
  conns_.erase(key);  // destroys c
}

}  // namespace berth::vsock
