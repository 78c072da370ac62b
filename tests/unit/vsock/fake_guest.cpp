#include "fake_guest.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <random>

namespace berth::vsock::testing {

using namespace vhost_user;
using Clock = std::chrono::steady_clock;

namespace {

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

bool wait_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

bool read_full(int fd, void* buf, size_t len, Clock::time_point deadline) {
  auto* out = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    if (!wait_readable(fd, remaining_ms(deadline))) return false;
    ssize_t n = ::recv(fd, out + done, len - done, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

}  // namespace

uint64_t Message::u64() const {
  uint64_t v = 0;
  EXPECT_EQ(payload.size(), sizeof v);
  if (payload.size() >= sizeof v) std::memcpy(&v, payload.data(), sizeof v);
  return v;
}

// ---- VhostUserClient ----------------------------------------------------------------

void VhostUserClient::connect(const std::string& path) {
  fd_ = connect_unix_blocking(path);
  ASSERT_TRUE(fd_.valid()) << "connect " << path;
}

void VhostUserClient::send(Request request, const std::vector<uint8_t>& payload, const std::vector<int>& fds,
                           uint32_t extra_flags) {
  Header h{static_cast<uint32_t>(request), kVersion | extra_flags, static_cast<uint32_t>(payload.size())};
  std::vector<uint8_t> out(sizeof h + payload.size());
  std::memcpy(out.data(), &h, sizeof h);
  if (!payload.empty()) std::memcpy(out.data() + sizeof h, payload.data(), payload.size());
  iovec iov{out.data(), out.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 16)];
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
  ASSERT_EQ(n, static_cast<ssize_t>(out.size())) << "sendmsg: " << std::strerror(errno);
}

void VhostUserClient::send_raw(const void* data, size_t len) {
  ssize_t n = ::send(fd_.get(), data, len, MSG_NOSIGNAL);
  ASSERT_EQ(n, static_cast<ssize_t>(len));
}

std::optional<Message> VhostUserClient::recv(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  Message m;
  if (!read_full(fd_.get(), &m.header, sizeof m.header, deadline)) return std::nullopt;
  m.payload.resize(m.header.size);
  if (m.header.size && !read_full(fd_.get(), m.payload.data(), m.header.size, deadline)) return std::nullopt;
  EXPECT_EQ(m.header.flags, kVersion | kFlagReply);
  return m;
}

uint64_t VhostUserClient::ack(Request request, const std::vector<uint8_t>& payload, const std::vector<int>& fds) {
  send(request, payload, fds, kFlagNeedReply);
  auto reply = recv();
  if (!reply) {
    ADD_FAILURE() << "no ack for request " << static_cast<uint32_t>(request);
    return ~0ull;
  }
  EXPECT_EQ(reply->header.request, static_cast<uint32_t>(request));
  return reply->u64();
}

Message VhostUserClient::call(Request request, const std::vector<uint8_t>& payload) {
  send(request, payload);
  auto reply = recv();
  if (!reply) {
    ADD_FAILURE() << "no reply for request " << static_cast<uint32_t>(request);
    return {};
  }
  EXPECT_EQ(reply->header.request, static_cast<uint32_t>(request));
  return *reply;
}

bool VhostUserClient::closed_by_peer(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!wait_readable(fd_.get(), remaining_ms(deadline))) return false;
    char buf[256];
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
  }
}

// ---- FakeGuest -------------------------------------------------------------------------

FakeGuest::FakeGuest(GuestOptions options) : options_(options), scratch_next_(kGpaA + (11ull << 20)) {
  memfd_ = UniqueFd(::memfd_create("fake-guest-ram", MFD_CLOEXEC));
  EXPECT_TRUE(memfd_.valid());
  EXPECT_EQ(::ftruncate(memfd_.get(), 2 * kRegionSize), 0);
  void* m = ::mmap(nullptr, 2 * kRegionSize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd_.get(), 0);
  EXPECT_NE(m, MAP_FAILED);
  mem_ = static_cast<uint8_t*>(m);
  for (size_t i = 0; i < 2; ++i) {
    Ring& r = rings_[i];
    r.num = options_.queue_size;
    uint64_t base = kGpaB + i * 0x100000;
    r.desc = base;
    r.avail = base + align_up(16ull * r.num, 4096);
    r.used = r.avail + align_up(6 + 2ull * r.num, 4096);
    r.kick = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    r.call = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  }
}

FakeGuest::~FakeGuest() {
  if (mem_) ::munmap(mem_, 2 * kRegionSize);
}

uint8_t* FakeGuest::ptr(uint64_t gpa) {
  EXPECT_GE(gpa, kGpaA);
  EXPECT_LT(gpa, kGpaA + 2 * kRegionSize);
  return mem_ + (gpa - kGpaA);
}

uint64_t FakeGuest::user_addr(uint64_t gpa) const {
  return gpa < kGpaB ? kUserA + (gpa - kGpaA) : kUserB + (gpa - kGpaB);
}

uint64_t FakeGuest::scratch(size_t len) {
  uint64_t at = align_up(scratch_next_, 16);
  scratch_next_ = at + len;
  EXPECT_LE(scratch_next_, kGpaB) << "scratch area exhausted";
  return at;
}

void FakeGuest::connect_and_start(const std::string& vhost_socket) {
  vhost_.connect(vhost_socket);
  offered_ = vhost_.call(Request::get_features).u64();
  uint64_t want = kFeatureVersion1;
  if (options_.protocol_features) want |= kFeatureProtocolFeatures;
  if (options_.event_idx) want |= kFeatureEventIdx;
  if (options_.indirect) want |= kFeatureIndirectDesc;
  ASSERT_EQ(offered_ & want, want) << std::hex << offered_;

  if (options_.protocol_features) {
    uint64_t proto = vhost_.call(Request::get_protocol_features).u64();
    ASSERT_TRUE(proto & kProtocolReplyAck);
    ASSERT_TRUE(proto & kProtocolConfig);
    vhost_.send(Request::set_protocol_features, bytes_of<uint64_t>(kProtocolReplyAck | kProtocolConfig));
    ASSERT_EQ(vhost_.ack(Request::set_owner, {}), 0u);
    ASSERT_EQ(vhost_.ack(Request::set_features, bytes_of(want)), 0u);
  } else {
    vhost_.send(Request::set_owner, {});
    vhost_.send(Request::set_features, bytes_of(want));
  }

  MemTableHeader table{2, 0};
  MemRegion a{kGpaA, kRegionSize, kUserA, 0};
  MemRegion b{kGpaB, kRegionSize, kUserB, kRegionSize};
  std::vector<uint8_t> payload = bytes_of(table);
  auto ra = bytes_of(a), rb = bytes_of(b);
  payload.insert(payload.end(), ra.begin(), ra.end());
  payload.insert(payload.end(), rb.begin(), rb.end());
  if (options_.protocol_features) {
    ASSERT_EQ(vhost_.ack(Request::set_mem_table, payload, {memfd_.get(), memfd_.get()}), 0u);
  } else {
    vhost_.send(Request::set_mem_table, payload, {memfd_.get(), memfd_.get()});
  }
  start_rings();
}

void FakeGuest::setup_ring(size_t index) {
  Ring& r = rings_[index];
  std::memset(ptr(r.desc), 0, 16ull * r.num);
  std::memset(ptr(r.avail), 0, 6 + 2ull * r.num);
  std::memset(ptr(r.used), 0, 6 + 8ull * r.num);
  r.avail_idx = 0;
  r.used_seen = 0;
  r.chains.clear();
  r.free.clear();
  for (int i = r.num - 1; i >= 0; --i) r.free.push_back(static_cast<uint16_t>(i));

  auto configure = [&](Request req, const std::vector<uint8_t>& payload, const std::vector<int>& fds = {}) {
    if (options_.protocol_features) {
      EXPECT_EQ(vhost_.ack(req, payload, fds), 0u) << "request " << static_cast<uint32_t>(req);
    } else {
      vhost_.send(req, payload, fds);
    }
  };
  uint32_t idx = static_cast<uint32_t>(index);
  configure(Request::set_vring_num, bytes_of(VringState{idx, r.num}));
  configure(Request::set_vring_base, bytes_of(VringState{idx, 0}));
  configure(Request::set_vring_addr,
            bytes_of(VringAddr{idx, 0, user_addr(r.desc), user_addr(r.used), user_addr(r.avail), 0}));
  configure(Request::set_vring_kick, bytes_of<uint64_t>(idx), {r.kick.get()});
  configure(Request::set_vring_call, bytes_of<uint64_t>(idx), {r.call.get()});
  if (options_.protocol_features) configure(Request::set_vring_enable, bytes_of(VringState{idx, 1}));
}

void FakeGuest::start_rings() {
  setup_ring(0);
  setup_ring(1);
  rx_packets_.clear();
  rx_post_shape_.clear();
  // A round trip, so the rings are live before the test goes on.
  vhost_.call(Request::get_features);
}

void FakeGuest::write_desc(Ring& r, uint16_t index, const RawDesc& d) {
  uint8_t* p = ptr(r.desc + 16ull * index);
  std::memcpy(p, &d.addr, 8);
  std::memcpy(p + 8, &d.len, 4);
  std::memcpy(p + 12, &d.flags, 2);
  std::memcpy(p + 14, &d.next, 2);
}

RawDesc FakeGuest::read_desc(Ring& r, uint16_t index) {
  RawDesc d{};
  const uint8_t* p = ptr(r.desc + 16ull * index);
  std::memcpy(&d.addr, p, 8);
  std::memcpy(&d.len, p + 8, 4);
  std::memcpy(&d.flags, p + 12, 2);
  std::memcpy(&d.next, p + 14, 2);
  return d;
}

void FakeGuest::publish(Ring& r, uint16_t head) {
  auto* slot = reinterpret_cast<uint16_t*>(ptr(r.avail + 4 + 2ull * (r.avail_idx % r.num)));
  __atomic_store_n(slot, head, __ATOMIC_RELAXED);
  ++r.avail_idx;
  __atomic_store_n(reinterpret_cast<uint16_t*>(ptr(r.avail + 2)), r.avail_idx, __ATOMIC_RELEASE);
  uint64_t one = 1;
  EXPECT_EQ(::write(r.kick.get(), &one, sizeof one), 8);
}

uint16_t FakeGuest::used_idx(Ring& r) {
  return __atomic_load_n(reinterpret_cast<uint16_t*>(ptr(r.used + 2)), __ATOMIC_ACQUIRE);
}

bool FakeGuest::wait_call(Ring& r, int timeout_ms) {
  if (options_.event_idx) {
    // Ask for an interrupt on the next used entry, then look again to close the race.
    __atomic_store_n(reinterpret_cast<uint16_t*>(ptr(r.avail + 4 + 2ull * r.num)), r.used_seen, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (used_idx(r) != r.used_seen) return true;
  }
  if (!wait_readable(r.call.get(), timeout_ms)) return false;
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(r.call.get(), &v, sizeof v);
  return true;
}

// ---- rx -----------------------------------------------------------------------------------

void FakeGuest::post_rx(size_t count, size_t size, bool split) {
  Ring& r = rings_[0];
  for (size_t i = 0; i < count; ++i) {
    size_t need = split ? 2 : 1;
    ASSERT_GE(r.free.size(), need) << "rx ring full";
    ASSERT_LE(size, kRxSlot);
    uint16_t a = r.free.back();
    r.free.pop_back();
    uint64_t slot_a = kGpaA + a * kRxSlot;
    if (split) {
      uint16_t b = r.free.back();
      r.free.pop_back();
      write_desc(r, a, RawDesc{slot_a, static_cast<uint32_t>(kHeaderSize), kDescWrite | kDescNext, b});
      write_desc(r, b, RawDesc{kGpaA + b * kRxSlot, static_cast<uint32_t>(size - kHeaderSize), kDescWrite, 0});
      r.chains[a] = {a, b};
    } else {
      write_desc(r, a, RawDesc{slot_a, static_cast<uint32_t>(size), kDescWrite, 0});
      r.chains[a] = {a};
    }
    rx_post_shape_[a] = {size, split};
    publish(r, a);
  }
}

void FakeGuest::post_rx_chain(const std::vector<RawDesc>& descs) {
  Ring& r = rings_[0];
  ASSERT_GE(r.free.size(), descs.size());
  std::vector<uint16_t> idx;
  for (size_t i = 0; i < descs.size(); ++i) {
    idx.push_back(r.free.back());
    r.free.pop_back();
  }
  for (size_t i = 0; i < descs.size(); ++i) {
    RawDesc d = descs[i];
    if (i + 1 < descs.size()) {
      d.flags |= kDescNext;
      d.next = idx[i + 1];
    }
    write_desc(r, idx[i], d);
  }
  r.chains[idx[0]] = idx;
  rx_post_shape_.erase(idx[0]);
  publish(r, idx[0]);
}

void FakeGuest::harvest_rx() {
  Ring& r = rings_[0];
  uint16_t end = used_idx(r);
  while (r.used_seen != end) {
    const uint8_t* elem = ptr(r.used + 4 + 8ull * (r.used_seen % r.num));
    uint32_t id, len;
    std::memcpy(&id, elem, 4);
    std::memcpy(&len, elem + 4, 4);
    ++r.used_seen;
    auto it = r.chains.find(static_cast<uint16_t>(id));
    if (it == r.chains.end()) {
      ADD_FAILURE() << "device returned rx descriptor " << id << " that is not in flight";
      continue;
    }
    std::vector<uint16_t> descs = it->second;
    r.chains.erase(it);
    std::string bytes;
    uint32_t capacity = 0;
    for (uint16_t d : descs) {
      RawDesc desc = read_desc(r, d);
      capacity += desc.len;
      if (bytes.size() < len) {
        size_t take = std::min<size_t>(desc.len, len - bytes.size());
        bytes.append(reinterpret_cast<const char*>(ptr(desc.addr)), take);
      }
    }
    EXPECT_LE(len, capacity) << "device claims to have written past the buffer";
    for (uint16_t d : descs) r.free.push_back(d);
    auto shape = rx_post_shape_.find(static_cast<uint16_t>(id));
    std::optional<std::pair<size_t, bool>> repost;
    if (shape != rx_post_shape_.end()) {
      repost = shape->second;
      rx_post_shape_.erase(shape);
    }
    if (len > 0) {
      EXPECT_GE(len, kHeaderSize);
      RxPacket p;
      p.used_len = len;
      p.h = decode_header(reinterpret_cast<const uint8_t*>(bytes.data()));
      EXPECT_EQ(len, kHeaderSize + p.h.len) << "used length disagrees with header";
      p.payload = bytes.substr(kHeaderSize);
      rx_packets_.push_back(std::move(p));
    }
    if (auto_refill_ && repost) post_rx(1, repost->first, repost->second);
  }
}

size_t FakeGuest::rx_ready() {
  harvest_rx();
  return rx_packets_.size();
}

uint16_t FakeGuest::rx_used_idx() { return used_idx(rings_[0]); }

std::optional<RxPacket> FakeGuest::recv(int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    harvest_rx();
    if (!rx_packets_.empty()) {
      RxPacket p = std::move(rx_packets_.front());
      rx_packets_.pop_front();
      return p;
    }
    int left = remaining_ms(deadline);
    if (left == 0) return std::nullopt;
    wait_call(rings_[0], left);
  }
}

// ---- tx -----------------------------------------------------------------------------------

PacketHeader FakeGuest::header(Op op, uint32_t guest_port, uint32_t host_port, uint32_t len) const {
  PacketHeader h;
  h.src_cid = kCid;
  h.dst_cid = kHostCid;
  h.src_port = guest_port;
  h.dst_port = host_port;
  h.len = len;
  h.type = kTypeStream;
  h.op = static_cast<uint16_t>(op);
  h.buf_alloc = buf_alloc;
  auto it = fwd_cnt.find(guest_port);
  h.fwd_cnt = it == fwd_cnt.end() ? 0 : it->second;
  return h;
}

uint16_t FakeGuest::tx_used_idx() {
  Ring& r = rings_[1];
  uint16_t end = used_idx(r);
  while (r.used_seen != end) {
    const uint8_t* elem = ptr(r.used + 4 + 8ull * (r.used_seen % r.num));
    uint32_t id, len;
    std::memcpy(&id, elem, 4);
    std::memcpy(&len, elem + 4, 4);
    ++r.used_seen;
    EXPECT_EQ(len, 0u) << "device wrote into a tx buffer";
    auto it = r.chains.find(static_cast<uint16_t>(id));
    if (it == r.chains.end()) continue;  // raw chains are not recycled
    for (uint16_t d : it->second) r.free.push_back(d);
    r.chains.erase(it);
  }
  return end;
}

bool FakeGuest::wait_tx_used(uint16_t count, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (static_cast<uint16_t>(tx_used_idx() - count) < 0x8000) return true;
    int left = remaining_ms(deadline);
    if (left == 0) return false;
    wait_call(rings_[1], left);
  }
}

void FakeGuest::send(const PacketHeader& h, std::string_view payload, bool split) {
  Ring& r = rings_[1];
  ASSERT_LE(payload.size(), kTxSlot - kHeaderSize);
  size_t need = (split && !payload.empty()) ? 2 : 1;
  auto deadline = Clock::now() + std::chrono::milliseconds(kTimeoutMs);
  while (tx_used_idx(), r.free.size() < need) {
    ASSERT_GT(remaining_ms(deadline), 0) << "tx ring stays full";
    wait_call(r, remaining_ms(deadline));
  }
  uint8_t raw[kHeaderSize];
  encode_header(h, raw);
  uint16_t a = r.free.back();
  r.free.pop_back();
  uint64_t slot_a = kGpaA + (2ull << 20) + a * kTxSlot;
  std::memcpy(ptr(slot_a), raw, kHeaderSize);
  if (need == 2) {
    uint16_t b = r.free.back();
    r.free.pop_back();
    uint64_t slot_b = kGpaA + (2ull << 20) + b * kTxSlot;
    std::memcpy(ptr(slot_b), payload.data(), payload.size());
    write_desc(r, a, RawDesc{slot_a, static_cast<uint32_t>(kHeaderSize), kDescNext, b});
    write_desc(r, b, RawDesc{slot_b, static_cast<uint32_t>(payload.size()), 0, 0});
    r.chains[a] = {a, b};
  } else {
    std::memcpy(ptr(slot_a + kHeaderSize), payload.data(), payload.size());
    write_desc(r, a, RawDesc{slot_a, static_cast<uint32_t>(kHeaderSize + payload.size()), 0, 0});
    r.chains[a] = {a};
  }
  publish(r, a);
}

void FakeGuest::send_raw(uint16_t head, const std::vector<std::pair<uint16_t, RawDesc>>& descs) {
  Ring& r = rings_[1];
  tx_used_idx();
  for (const auto& [index, d] : descs) {
    if (index < r.num) {
      // Taken out of circulation for good: the device may never return it.
      auto it = std::find(r.free.begin(), r.free.end(), index);
      EXPECT_NE(it, r.free.end()) << "raw descriptor " << index << " is in flight";
      if (it != r.free.end()) r.free.erase(it);
      write_desc(r, index, d);
    }
  }
  publish(r, head);
}

void FakeGuest::publish_tx_head(uint16_t head) { publish(rings_[1], head); }

void FakeGuest::kick_tx() {
  uint64_t one = 1;
  EXPECT_EQ(::write(rings_[1].kick.get(), &one, sizeof one), 8);
}

// ---- DeviceRunner -------------------------------------------------------------------------

DeviceRunner::DeviceRunner(uint64_t cid, std::chrono::milliseconds connect_timeout) {
  char tmpl[] = "/tmp/berth-vsock-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  EXPECT_NE(d, nullptr);
  dir_ = d ? d : "/tmp";
  vhost_socket_ = dir_ + "/vhost.sock";
  host_socket_ = dir_ + "/v.sock";
  Config config;
  config.vhost_user_socket = vhost_socket_;
  config.host_socket = host_socket_;
  config.guest_cid = cid;
  config.instance = "test";
  config.connect_timeout = connect_timeout;
  auto device = UserspaceVsock::create(config);
  EXPECT_TRUE(device) << (device ? "" : device.error().what());
  if (!device) return;
  device_ = std::move(*device);
  thread_ = std::thread([this] {
    auto status = device_->run();
    EXPECT_TRUE(status) << (status ? "" : status.error().what());
  });
}

DeviceRunner::~DeviceRunner() {
  if (device_) device_->stop();
  if (thread_.joinable()) thread_.join();
  device_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

// ---- host-side helpers -------------------------------------------------------------------

UniqueFd connect_unix_blocking(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect " << path << ": " << std::strerror(errno);
    return UniqueFd();
  }
  return fd;
}

UniqueFd listen_unix_blocking(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(fd.get(), 64), 0);
  return fd;
}

UniqueFd accept_with_timeout(int listener, int timeout_ms) {
  if (!wait_readable(listener, timeout_ms)) return UniqueFd();
  return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    ASSERT_GT(n, 0) << "write: " << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string read_line(int fd, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string line;
  char ch;
  while (line.empty() || line.back() != '\n') {
    if (!read_full(fd, &ch, 1, deadline)) return {};
    line += ch;
  }
  return line;
}

std::string read_exact(int fd, size_t n, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    if (!wait_readable(fd, remaining_ms(deadline))) break;
    ssize_t got = ::recv(fd, out.data() + done, n - done, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  out.resize(done);
  return out;
}

bool read_eof(int fd, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (!wait_readable(fd, remaining_ms(deadline))) return false;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n > 0) {
      ADD_FAILURE() << "unexpected " << n << " bytes while waiting for EOF";
      return false;
    }
  }
}

bool quiet(int fd, int timeout_ms) { return !wait_readable(fd, timeout_ms); }

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (auto& ch : out) ch = static_cast<char>(rng() & 0xff);
  return out;
}

}  // namespace berth::vsock::testing
