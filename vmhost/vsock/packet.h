// virtio-vsock packet header (virtio spec, "Socket Device"), and its byte encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace berth::vsock {

inline constexpr uint64_t kHostCid = 2;
inline constexpr size_t kHeaderSize = 44;
// Linux never puts more than 64 KiB in one packet; neither do we, and we reject more.
inline constexpr uint32_t kMaxPayload = 64 * 1024;

inline constexpr uint16_t kTypeStream = 1;

enum class Op : uint16_t {
  invalid = 0,
  request = 1,
  response = 2,
  rst = 3,
  shutdown = 4,
  rw = 5,
  credit_update = 6,
  credit_request = 7,
};

// SHUTDOWN flags: what the sender will no longer do.
inline constexpr uint32_t kShutdownRcv = 1;
inline constexpr uint32_t kShutdownSend = 2;
inline constexpr uint32_t kShutdownBoth = kShutdownRcv | kShutdownSend;

struct PacketHeader {
  uint64_t src_cid = 0;
  uint64_t dst_cid = 0;
  uint32_t src_port = 0;
  uint32_t dst_port = 0;
  uint32_t len = 0;
  uint16_t type = kTypeStream;
  uint16_t op = 0;
  uint32_t flags = 0;
  uint32_t buf_alloc = 0;
  uint32_t fwd_cnt = 0;
};

void encode_header(const PacketHeader& header, uint8_t out[kHeaderSize]);
PacketHeader decode_header(const uint8_t in[kHeaderSize]);
std::string_view op_name(uint16_t op);

}  // namespace berth::vsock
