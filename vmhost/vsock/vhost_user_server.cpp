#include "vhost_user_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "unix_socket.h"

namespace berth::vsock {

using namespace vhost_user;

namespace {

constexpr uint64_t kOfferedProtocolFeatures = kProtocolReplyAck | kProtocolConfig;

template <class T>
Result<T> parse(const std::vector<uint8_t>& payload, const char* what) {
  if (payload.size() < sizeof(T)) {
    return make_error(Errc::protocol, std::string(what) + ": payload of " + std::to_string(payload.size()) +
                                          " bytes, need " + std::to_string(sizeof(T)));
  }
  T value;
  std::memcpy(&value, payload.data(), sizeof(T));
  return value;
}

template <class T>
std::vector<uint8_t> bytes_of(const T& value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

const char* request_name(uint32_t request) {
  switch (static_cast<Request>(request)) {
    case Request::get_features: return "GET_FEATURES";
    case Request::set_features: return "SET_FEATURES";
    case Request::set_owner: return "SET_OWNER";
    case Request::reset_owner: return "RESET_OWNER";
    case Request::set_mem_table: return "SET_MEM_TABLE";
    case Request::set_log_base: return "SET_LOG_BASE";
    case Request::set_log_fd: return "SET_LOG_FD";
    case Request::set_vring_num: return "SET_VRING_NUM";
    case Request::set_vring_addr: return "SET_VRING_ADDR";
    case Request::set_vring_base: return "SET_VRING_BASE";
    case Request::get_vring_base: return "GET_VRING_BASE";
    case Request::set_vring_kick: return "SET_VRING_KICK";
    case Request::set_vring_call: return "SET_VRING_CALL";
    case Request::set_vring_err: return "SET_VRING_ERR";
    case Request::get_protocol_features: return "GET_PROTOCOL_FEATURES";
    case Request::set_protocol_features: return "SET_PROTOCOL_FEATURES";
    case Request::get_queue_num: return "GET_QUEUE_NUM";
    case Request::set_vring_enable: return "SET_VRING_ENABLE";
    case Request::get_config: return "GET_CONFIG";
    case Request::set_config: return "SET_CONFIG";
    case Request::reset_device: return "RESET_DEVICE";
  }
  return "unknown";
}

}  // namespace

Result<std::unique_ptr<VhostUserServer>> VhostUserServer::listen(EventLoop& loop, const std::string& path,
                                                                 VhostUserBackend& backend, size_t num_queues,
                                                                 Log log) {
  if (num_queues == 0 || num_queues > kMaxQueues) {
    return make_error(Errc::invalid_argument, "vhost-user: unsupported queue count " + std::to_string(num_queues));
  }
  UniqueFd listener = BERTH_TRY(listen_unix(path, 1));
  std::unique_ptr<VhostUserServer> server(
      new VhostUserServer(loop, path, std::move(listener), backend, num_queues, std::move(log)));
  VhostUserServer* self = server.get();
  BERTH_TRY(loop.add(server->listener_.get(), EPOLLIN, [self](uint32_t) { self->on_accept(); }));
  return server;
}

VhostUserServer::VhostUserServer(EventLoop& loop, std::string path, UniqueFd listener, VhostUserBackend& backend,
                                 size_t num_queues, Log log)
    : loop_(loop), path_(std::move(path)), listener_(std::move(listener)), backend_(backend), num_queues_(num_queues),
      log_(std::move(log)) {
  static const char* const kNames[] = {"rx", "tx", "event"};
  for (size_t i = 0; i < kMaxQueues; ++i) {
    queues_[i].ring.set_log(log_, i < 3 ? kNames[i] : "queue " + std::to_string(i));
  }
}

VhostUserServer::~VhostUserServer() {
  for (auto& q : queues_) {
    if (q.kick) loop_.remove(q.kick.get());
  }
  if (conn_) loop_.remove(conn_.get());
  loop_.remove(listener_.get());
  ::unlink(path_.c_str());
}

void VhostUserServer::on_accept() {
  UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of fds: back off instead of spinning on a listener that stays readable.
      log_.warn("vhost-user: accept: {}; retrying in 100 ms", std::strerror(errno));
      (void)loop_.modify(listener_.get(), 0);
      loop_.add_timer(std::chrono::milliseconds(100), [this] { (void)loop_.modify(listener_.get(), EPOLLIN); });
    }
    return;
  }
  if (conn_) {
    log_.warn("vhost-user: refusing a second front-end connection");
    return;
  }
  auto added = loop_.add(fd.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
  if (!added) {
    log_.error("vhost-user: {}", added.error().what());
    return;
  }
  conn_ = std::move(fd);
  log_.info("vhost-user: front-end connected");
}

void VhostUserServer::disconnect(const std::string& why) {
  if (!conn_) return;
  log_.info("vhost-user: front-end disconnected ({})", why);
  loop_.remove(conn_.get());
  conn_.reset();
  in_.clear();
  in_fds_.clear();
  reset_device();
  protocol_features_ = 0;
  backend_.frontend_disconnected();
  if (on_disconnect_) on_disconnect_();
}

void VhostUserServer::reset_device() {
  for (size_t i = 0; i < num_queues_; ++i) {
    stop_queue(i);
    QueueState& q = queues_[i];
    q.ring.set_call(UniqueFd());
    q.ring.set_last_avail(0);
    q.err.reset();
    q.enabled = false;
    q.addressed = false;
  }
  features_ = 0;
  memory_ = GuestMemory();
}

void VhostUserServer::on_readable() {
  while (conn_) {
    size_t want;
    if (in_.size() < kMessageHeaderSize) {
      want = kMessageHeaderSize - in_.size();
    } else {
      Header header;
      std::memcpy(&header, in_.data(), sizeof header);
      if ((header.flags & kVersionMask) != kVersion) {
        disconnect("message with protocol version " + std::to_string(header.flags & kVersionMask));
        return;
      }
      if (header.size > kMaxPayload) {
        disconnect("message of " + std::to_string(header.size) + " bytes");
        return;
      }
      want = kMessageHeaderSize + header.size - in_.size();
      if (want == 0) {
        std::vector<uint8_t> payload(in_.begin() + kMessageHeaderSize, in_.end());
        std::vector<UniqueFd> fds = std::move(in_fds_);
        in_.clear();
        in_fds_.clear();
        Reply reply;
        Status status = dispatch(header, payload, fds, reply);
        if (!conn_) return;
        if (!status) log_.warn("vhost-user: {} failed: {}", request_name(header.request), status.error().what());
        Status sent = ok();
        if (reply.explicit_reply) {
          sent = send_message(header.request, reply.payload);
        } else if ((header.flags & kFlagNeedReply) && (protocol_features_ & kProtocolReplyAck)) {
          uint64_t ack = status ? 0 : 1;
          sent = send_message(header.request, bytes_of(ack));
        }
        if (!sent) {
          disconnect(sent.error().what());
          return;
        }
        continue;
      }
    }

    // Read exactly up to the end of the current message so ancillary fds are never
    // attributed to the wrong one.
    size_t old = in_.size();
    in_.resize(old + want);
    iovec iov{in_.data() + old, want};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(conn_.get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
      int err = errno;
      in_.resize(old);
      if (err == EAGAIN || err == EINTR) return;
      disconnect(std::string("recvmsg: ") + std::strerror(err));
      return;
    }
    in_.resize(old + static_cast<size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        in_fds_.emplace_back(fd);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
      disconnect("message carried more than " + std::to_string(kMaxFds) + " fds");
      return;
    }
    if (n == 0) {
      disconnect("connection closed");
      return;
    }
  }
}

Status VhostUserServer::send_message(uint32_t request, const std::vector<uint8_t>& payload) {
  Header header{request, kVersion | kFlagReply, static_cast<uint32_t>(payload.size())};
  std::vector<uint8_t> out(sizeof header + payload.size());
  std::memcpy(out.data(), &header, sizeof header);
  if (!payload.empty()) std::memcpy(out.data() + sizeof header, payload.data(), payload.size());
  // QEMU waits for each reply before sending more, so the socket buffer is never full.
  ssize_t n = ::send(conn_.get(), out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0) return sys_error("vhost-user reply");
  if (static_cast<size_t>(n) != out.size()) return make_error(Errc::io, "vhost-user reply truncated");
  return ok();
}

Result<size_t> VhostUserServer::queue_index(uint64_t raw) const {
  if (raw >= num_queues_) {
    return make_error(Errc::protocol, "queue index " + std::to_string(raw) + " (device has " +
                                          std::to_string(num_queues_) + ")");
  }
  return static_cast<size_t>(raw);
}

void VhostUserServer::update_queue(size_t index) {
  QueueState& q = queues_[index];
  bool should = q.started && q.enabled && q.addressed && !memory_.empty();
  if (should == q.live) return;
  if (!should) {
    // Disabled (or unmapped), not stopped: the kick fd stays for when it comes back.
    q.live = false;
    q.ring.detach();
    backend_.queue_stopped(index);
    return;
  }
  if (auto attached = q.ring.attach(memory_); !attached) {
    log_.error("vhost-user: cannot start queue {}: {}", index, attached.error().what());
    return;
  }
  q.live = true;
  log_.debug("vhost-user: queue {} live (size {}, base {})", index, q.ring.size(), q.ring.last_avail());
  backend_.queue_started(index);
}

void VhostUserServer::stop_queue(size_t index) {
  QueueState& q = queues_[index];
  q.started = false;
  update_queue(index);
  if (q.kick) {
    loop_.remove(q.kick.get());
    q.kick.reset();
  }
}

Status VhostUserServer::set_mem_table(const std::vector<uint8_t>& payload, std::vector<UniqueFd>& fds) {
  auto table = BERTH_TRY(parse<MemTableHeader>(payload, "SET_MEM_TABLE"));
  if (table.nregions == 0 || table.nregions > kMaxMemRegions) {
    return make_error(Errc::protocol, "SET_MEM_TABLE with " + std::to_string(table.nregions) + " regions");
  }
  if (payload.size() < sizeof(MemTableHeader) + table.nregions * sizeof(MemRegion)) {
    return make_error(Errc::protocol, "SET_MEM_TABLE payload shorter than its region list");
  }
  std::vector<MemoryRegion> regions;
  for (uint32_t i = 0; i < table.nregions; ++i) {
    MemRegion wire;
    std::memcpy(&wire, payload.data() + sizeof(MemTableHeader) + i * sizeof(MemRegion), sizeof wire);
    regions.push_back(MemoryRegion{wire.guest_phys_addr, wire.memory_size, wire.userspace_addr, wire.mmap_offset});
  }
  GuestMemory memory = BERTH_TRY(GuestMemory::map(regions, std::move(fds)));
  // Rings point into the old mappings: take them down before those go away, and back up
  // (re-resolved) right after.
  for (size_t i = 0; i < num_queues_; ++i) {
    QueueState& q = queues_[i];
    if (!q.live) continue;
    q.live = false;
    q.ring.detach();
    backend_.queue_stopped(i);
  }
  memory_ = std::move(memory);
  log_.debug("vhost-user: memory table with {} regions", regions.size());
  for (size_t i = 0; i < num_queues_; ++i) update_queue(i);
  return ok();
}

Status VhostUserServer::set_vring_fd(Request request, const std::vector<uint8_t>& payload,
                                     std::vector<UniqueFd>& fds) {
  uint64_t value = BERTH_TRY(parse<uint64_t>(payload, request_name(static_cast<uint32_t>(request))));
  size_t index = BERTH_TRY(queue_index(value & kVringIndexMask));
  UniqueFd fd;
  if (!(value & kVringNoFd)) {
    if (fds.size() != 1) return make_error(Errc::protocol, "expected one fd, got " + std::to_string(fds.size()));
    fd = std::move(fds[0]);
  }
  QueueState& q = queues_[index];
  switch (request) {
    case Request::set_vring_call:
      q.ring.set_call(std::move(fd));
      return ok();
    case Request::set_vring_err:
      q.err = std::move(fd);
      return ok();
    default:
      break;
  }
  if (!fd) return make_error(Errc::unsupported, "polling mode (kick without fd) is not supported");
  if (q.kick) loop_.remove(q.kick.get());
  q.kick = std::move(fd);
  BERTH_TRY(loop_.add(q.kick.get(), EPOLLIN, [this, index](uint32_t) {
    QueueState& queue = queues_[index];
    uint64_t count = 0;
    while (::read(queue.kick.get(), &count, sizeof count) > 0) {
    }
    if (queue.live) backend_.queue_kicked(index);
  }));
  q.started = true;
  update_queue(index);
  // A kick may have been missed while the ring was being set up.
  if (q.live) backend_.queue_kicked(index);
  return ok();
}

Status VhostUserServer::get_config(const std::vector<uint8_t>& payload, Reply& reply) {
  reply.explicit_reply = true;
  auto header = BERTH_TRY(parse<ConfigHeader>(payload, "GET_CONFIG"));
  // An empty reply is how vhost-user reports a failed GET_CONFIG.
  if (header.size > kMaxConfigSize || header.offset > kMaxConfigSize - header.size) {
    return make_error(Errc::protocol, "GET_CONFIG range " + std::to_string(header.offset) + "+" +
                                          std::to_string(header.size) + " out of bounds");
  }
  if (payload.size() != sizeof(ConfigHeader) + header.size) {
    return make_error(Errc::protocol, "GET_CONFIG payload size does not match its header");
  }
  std::vector<uint8_t> config = backend_.device_config();
  reply.payload.assign(sizeof(ConfigHeader) + header.size, 0);
  std::memcpy(reply.payload.data(), &header, sizeof header);
  for (uint32_t i = 0; i < header.size && header.offset + i < config.size(); ++i) {
    reply.payload[sizeof(ConfigHeader) + i] = config[header.offset + i];
  }
  return ok();
}

Status VhostUserServer::dispatch(const Header& header, const std::vector<uint8_t>& payload,
                                 std::vector<UniqueFd>& fds, Reply& reply) {
  const uint64_t offered = kFeatureVersion1 | kFeatureProtocolFeatures | backend_.device_features();
  auto request = static_cast<Request>(header.request);
  log_.debug("vhost-user: {} ({} bytes, {} fds)", request_name(header.request), payload.size(), fds.size());
  switch (request) {
    case Request::get_features:
      reply.explicit_reply = true;
      reply.payload = bytes_of(offered);
      return ok();

    case Request::set_features: {
      uint64_t features = BERTH_TRY(parse<uint64_t>(payload, "SET_FEATURES"));
      if (features & ~offered) {
        return make_error(Errc::protocol, fmt::format("SET_FEATURES 0x{:x} not a subset of 0x{:x}", features, offered));
      }
      features_ = features;
      bool no_enable_messages = !(features & kFeatureProtocolFeatures);
      for (size_t i = 0; i < num_queues_; ++i) {
        queues_[i].ring.set_features(features & kFeatureEventIdx, features & kFeatureIndirectDesc);
        // Without protocol features there is no SET_VRING_ENABLE: rings are enabled from the start.
        if (no_enable_messages) queues_[i].enabled = true;
        update_queue(i);
      }
      log_.debug("vhost-user: features 0x{:x}", features);
      return ok();
    }

    case Request::get_protocol_features:
      reply.explicit_reply = true;
      reply.payload = bytes_of(kOfferedProtocolFeatures);
      return ok();

    case Request::set_protocol_features: {
      uint64_t features = BERTH_TRY(parse<uint64_t>(payload, "SET_PROTOCOL_FEATURES"));
      if (features & ~kOfferedProtocolFeatures) {
        return make_error(Errc::protocol, fmt::format("SET_PROTOCOL_FEATURES 0x{:x} not offered", features));
      }
      protocol_features_ = features;
      return ok();
    }

    case Request::set_owner:
      return ok();

    case Request::reset_owner:
    case Request::reset_device:
      reset_device();
      return ok();

    case Request::get_queue_num:
      reply.explicit_reply = true;
      reply.payload = bytes_of(static_cast<uint64_t>(num_queues_));
      return ok();

    case Request::set_mem_table:
      return set_mem_table(payload, fds);

    case Request::set_vring_num: {
      auto state = BERTH_TRY(parse<VringState>(payload, "SET_VRING_NUM"));
      size_t index = BERTH_TRY(queue_index(state.index));
      if (state.num == 0 || state.num > Virtqueue::kMaxSize || (state.num & (state.num - 1))) {
        return make_error(Errc::protocol, "queue size " + std::to_string(state.num) + " is not a power of two <= 32768");
      }
      queues_[index].ring.set_size(state.num);
      return ok();
    }

    case Request::set_vring_addr: {
      auto addr = BERTH_TRY(parse<VringAddr>(payload, "SET_VRING_ADDR"));
      size_t index = BERTH_TRY(queue_index(addr.index));
      QueueState& q = queues_[index];
      q.ring.set_addresses(addr.desc_user_addr, addr.avail_user_addr, addr.used_user_addr);
      q.addressed = true;
      if (q.live) {
        // Moving a live ring: re-resolve in place.
        if (auto attached = q.ring.attach(memory_); !attached) {
          stop_queue(index);
          return tl::unexpected(attached.error());
        }
        return ok();
      }
      update_queue(index);
      return ok();
    }

    case Request::set_vring_base: {
      auto state = BERTH_TRY(parse<VringState>(payload, "SET_VRING_BASE"));
      size_t index = BERTH_TRY(queue_index(state.index));
      queues_[index].ring.set_last_avail(static_cast<uint16_t>(state.num));
      return ok();
    }

    case Request::get_vring_base: {
      reply.explicit_reply = true;
      auto state = BERTH_TRY(parse<VringState>(payload, "GET_VRING_BASE"));
      // Always answer: QEMU blocks on this reply.
      VringState answer{state.index, 0};
      reply.payload = bytes_of(answer);
      size_t index = BERTH_TRY(queue_index(state.index));
      stop_queue(index);
      answer.num = queues_[index].ring.last_avail();
      reply.payload = bytes_of(answer);
      return ok();
    }

    case Request::set_vring_kick:
    case Request::set_vring_call:
    case Request::set_vring_err:
      return set_vring_fd(request, payload, fds);

    case Request::set_vring_enable: {
      auto state = BERTH_TRY(parse<VringState>(payload, "SET_VRING_ENABLE"));
      size_t index = BERTH_TRY(queue_index(state.index));
      if (!(features_ & kFeatureProtocolFeatures)) {
        return make_error(Errc::protocol, "SET_VRING_ENABLE without VHOST_USER_F_PROTOCOL_FEATURES");
      }
      queues_[index].enabled = state.num != 0;
      update_queue(index);
      return ok();
    }

    case Request::get_config:
      return get_config(payload, reply);

    case Request::set_config:
      return make_error(Errc::unsupported, "the vsock config space is read-only");

    case Request::set_log_base:
    case Request::set_log_fd:
      break;
  }
  return make_error(Errc::unsupported, "request " + std::to_string(header.request) + " not supported");
}

}  // namespace berth::vsock
