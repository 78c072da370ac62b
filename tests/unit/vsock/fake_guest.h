// Test doubles for the userspace vsock device: a fake guest whose RAM is a memfd and whose
// virtqueues are built by hand, driven through a real vhost-user connection (so the test
// plays QEMU and the guest driver at once), plus host-side socket helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "berth/common/unique_fd.h"
#include "vsock/packet.h"
#include "vsock/vhost_user_protocol.h"
#include "vsock/vsock_device.h"

namespace berth::vsock::testing {

using vhost_user::Request;

inline constexpr int kTimeoutMs = 5000;

struct Message {
  vhost_user::Header header{};
  std::vector<uint8_t> payload;
  uint64_t u64() const;
};

// The QEMU side of the vhost-user socket.
class VhostUserClient {
 public:
  void connect(const std::string& path);
  bool connected() const { return fd_.valid(); }
  void close() { fd_.reset(); }
  void send(Request request, const std::vector<uint8_t>& payload, const std::vector<int>& fds = {},
            uint32_t extra_flags = 0);
  // Raw bytes, for malformed-message tests.
  void send_raw(const void* data, size_t len);
  std::optional<Message> recv(int timeout_ms = kTimeoutMs);
  // Sends with NEED_REPLY and returns the ack value (0 = success).
  uint64_t ack(Request request, const std::vector<uint8_t>& payload, const std::vector<int>& fds = {});
  Message call(Request request, const std::vector<uint8_t>& payload = {});
  // True when the back-end closed the connection within the timeout.
  bool closed_by_peer(int timeout_ms = kTimeoutMs);

 private:
  UniqueFd fd_;
};

template <class T>
std::vector<uint8_t> bytes_of(const T& value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

struct RxPacket {
  PacketHeader h;
  std::string payload;
  uint32_t used_len = 0;
};

// A raw descriptor, for building malformed chains.
struct RawDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
inline constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;

struct GuestOptions {
  uint16_t queue_size = 128;
  bool event_idx = false;
  bool indirect = false;
  bool protocol_features = true;
};

class FakeGuest {
 public:
  static constexpr uint64_t kCid = 3;
  // Two regions of one memfd, adjacent in guest-physical space but not in QEMU's address
  // space, and each at its own file offset — so every translation step matters.
  static constexpr uint64_t kRegionSize = 16ull << 20;
  static constexpr uint64_t kGpaA = 0x100000, kGpaB = kGpaA + kRegionSize;
  static constexpr uint64_t kUserA = 0x7f0000000000, kUserB = 0x7f2000000000;
  static constexpr uint64_t kRxSlot = 8192;
  static constexpr uint64_t kTxSlot = 64 * 1024 + 64;

  explicit FakeGuest(GuestOptions options = {});
  ~FakeGuest();
  FakeGuest(const FakeGuest&) = delete;
  FakeGuest& operator=(const FakeGuest&) = delete;

  VhostUserClient& vhost() { return vhost_; }
  const GuestOptions& options() const { return options_; }
  // Full front-end setup: features, config, memory table, rings 0 and 1 live.
  void connect_and_start(const std::string& vhost_socket);
  void start_rings();
  uint64_t features_offered() const { return offered_; }

  uint8_t* ptr(uint64_t gpa);
  uint64_t user_addr(uint64_t gpa) const;
  int memfd() const { return memfd_.get(); }

  // ---- rx (device → guest) ----
  // Posts `count` buffers of `size` bytes; split puts the header and the data in separate
  // descriptors like older Linux drivers do.
  void post_rx(size_t count, size_t size = kHeaderSize + 4096, bool split = false);
  void post_rx_chain(const std::vector<RawDesc>& descs);  // raw, for malformed buffers
  // Re-post every consumed buffer, as a real driver does.
  void set_auto_refill(bool on) { auto_refill_ = on; }
  std::optional<RxPacket> recv(int timeout_ms = kTimeoutMs);
  // Packets already delivered, without waiting.
  size_t rx_ready();
  uint16_t rx_used_idx();

  // ---- tx (guest → device) ----
  void send(const PacketHeader& h, std::string_view payload = {}, bool split = true);
  // Puts descriptors at table indices starting at `first`, publishes `head` and kicks.
  void send_raw(uint16_t head, const std::vector<std::pair<uint16_t, RawDesc>>& descs);
  void publish_tx_head(uint16_t head);
  void kick_tx();
  bool wait_tx_used(uint16_t count, int timeout_ms = kTimeoutMs);
  uint16_t tx_used_idx();
  uint16_t tx_avail_idx() const { return rings_[1].avail_idx; }
  uint64_t avail_gpa(size_t ring) const { return rings_[ring].avail; }
  // Free-running allocator in region A for ad-hoc buffers (indirect tables etc.).
  uint64_t scratch(size_t len);

  PacketHeader header(Op op, uint32_t guest_port, uint32_t host_port, uint32_t len = 0) const;
  uint32_t buf_alloc = 1 << 20;
  // Per (guest port) consumed bytes, put into every header as fwd_cnt.
  std::map<uint32_t, uint32_t> fwd_cnt;

 private:
  struct Ring {
    uint16_t num = 0;
    uint64_t desc = 0, avail = 0, used = 0;
    uint16_t avail_idx = 0;
    uint16_t used_seen = 0;
    std::vector<uint16_t> free;
    std::map<uint16_t, std::vector<uint16_t>> chains;  // head → descriptors
    UniqueFd kick, call;
  };

  void write_desc(Ring& r, uint16_t index, const RawDesc& d);
  RawDesc read_desc(Ring& r, uint16_t index);
  void publish(Ring& r, uint16_t head);
  uint16_t used_idx(Ring& r);
  void harvest_rx();
  bool wait_call(Ring& r, int timeout_ms);
  void setup_ring(size_t index);

  GuestOptions options_;
  UniqueFd memfd_;
  uint8_t* mem_ = nullptr;
  VhostUserClient vhost_;
  uint64_t offered_ = 0;
  Ring rings_[2];
  uint64_t scratch_next_;
  bool auto_refill_ = false;
  std::map<uint16_t, std::pair<size_t, bool>> rx_post_shape_;  // head → (size, split)
  std::deque<RxPacket> rx_packets_;
};

// The device under test on its own thread, with sockets in a fresh directory.
class DeviceRunner {
 public:
  explicit DeviceRunner(uint64_t cid = FakeGuest::kCid, std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));
  ~DeviceRunner();
  const std::string& vhost_socket() const { return vhost_socket_; }
  const std::string& host_socket() const { return host_socket_; }
  std::string dir() const { return dir_; }

 private:
  std::string dir_;
  std::string vhost_socket_;
  std::string host_socket_;
  std::unique_ptr<UserspaceVsock> device_;
  std::thread thread_;
};

// ---- host-side socket helpers ----
UniqueFd connect_unix_blocking(const std::string& path);
UniqueFd listen_unix_blocking(const std::string& path);
UniqueFd accept_with_timeout(int listener, int timeout_ms = kTimeoutMs);
void write_all(int fd, std::string_view data);
// Reads up to and including '\n'; empty on EOF or timeout.
std::string read_line(int fd, int timeout_ms = kTimeoutMs);
std::string read_exact(int fd, size_t n, int timeout_ms = kTimeoutMs);
// True when the peer closed (read returns 0) within the timeout.
bool read_eof(int fd, int timeout_ms = kTimeoutMs);
// True when nothing arrives within timeout_ms.
bool quiet(int fd, int timeout_ms);
std::string random_bytes(size_t n, uint32_t seed);

}  // namespace berth::vsock::testing
