// vhost-user wire format, as described in QEMU's docs/interop/vhost-user.rst. All fields
// are little-endian, which is also every host berth runs on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth::vsock::vhost_user {

enum class Request : uint32_t {
  get_features = 1,
  set_features = 2,
  set_owner = 3,
  reset_owner = 4,
  set_mem_table = 5,
  set_log_base = 6,
  set_log_fd = 7,
  set_vring_num = 8,
  set_vring_addr = 9,
  set_vring_base = 10,
  get_vring_base = 11,
  set_vring_kick = 12,
  set_vring_call = 13,
  set_vring_err = 14,
  get_protocol_features = 15,
  set_protocol_features = 16,
  get_queue_num = 17,
  set_vring_enable = 18,
  get_config = 24,
  set_config = 25,
  reset_device = 34,
};

inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kVersionMask = 0x3;
inline constexpr uint32_t kFlagReply = 1u << 2;
inline constexpr uint32_t kFlagNeedReply = 1u << 3;

inline constexpr size_t kMessageHeaderSize = 12;
// Larger than any message we accept (the memory table is 264 bytes, config at most 268).
inline constexpr size_t kMaxPayload = 4096;
inline constexpr size_t kMaxFds = 8;
inline constexpr size_t kMaxMemRegions = 8;
inline constexpr size_t kMaxConfigSize = 256;

// virtio feature bits
inline constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;
inline constexpr uint64_t kFeatureEventIdx = 1ull << 29;
inline constexpr uint64_t kFeatureProtocolFeatures = 1ull << 30;
inline constexpr uint64_t kFeatureVersion1 = 1ull << 32;

// protocol feature bits
inline constexpr uint64_t kProtocolMq = 1ull << 0;
inline constexpr uint64_t kProtocolReplyAck = 1ull << 3;
inline constexpr uint64_t kProtocolConfig = 1ull << 9;

// SET_VRING_KICK / CALL / ERR payload
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFd = 1ull << 8;

struct Header {
  uint32_t request;
  uint32_t flags;
  uint32_t size;
};

struct VringState {
  uint32_t index;
  uint32_t num;
};

struct VringAddr {
  uint32_t index;
  uint32_t flags;
  uint64_t desc_user_addr;
  uint64_t used_user_addr;
  uint64_t avail_user_addr;
  uint64_t log_guest_addr;
};

struct MemTableHeader {
  uint32_t nregions;
  uint32_t padding;
};

struct MemRegion {
  uint64_t guest_phys_addr;
  uint64_t memory_size;
  uint64_t userspace_addr;
  uint64_t mmap_offset;
};

struct ConfigHeader {
  uint32_t offset;
  uint32_t size;
  uint32_t flags;
};

static_assert(sizeof(Header) == 12);
static_assert(sizeof(VringState) == 8);
static_assert(sizeof(VringAddr) == 40);
static_assert(sizeof(MemTableHeader) == 8);
static_assert(sizeof(MemRegion) == 32);
static_assert(sizeof(ConfigHeader) == 12);

}  // namespace berth::vsock::vhost_user
