#include "packet.h"

#include <endian.h>

#include <cstring>

namespace berth::vsock {
namespace {

// Field offsets of the packed little-endian header.
constexpr size_t kSrcCid = 0, kDstCid = 8, kSrcPort = 16, kDstPort = 20, kLen = 24, kType = 28, kOp = 30,
                 kFlags = 32, kBufAlloc = 36, kFwdCnt = 40;

void put16(uint8_t* p, uint16_t v) {
  v = htole16(v);
  std::memcpy(p, &v, 2);
}
void put32(uint8_t* p, uint32_t v) {
  v = htole32(v);
  std::memcpy(p, &v, 4);
}
void put64(uint8_t* p, uint64_t v) {
  v = htole64(v);
  std::memcpy(p, &v, 8);
}
uint16_t get16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return le16toh(v);
}
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return le32toh(v);
}
uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return le64toh(v);
}

}  // namespace

void encode_header(const PacketHeader& h, uint8_t out[kHeaderSize]) {
  put64(out + kSrcCid, h.src_cid);
  put64(out + kDstCid, h.dst_cid);
  put32(out + kSrcPort, h.src_port);
  put32(out + kDstPort, h.dst_port);
  put32(out + kLen, h.len);
  put16(out + kType, h.type);
  put16(out + kOp, h.op);
  put32(out + kFlags, h.flags);
  put32(out + kBufAlloc, h.buf_alloc);
  put32(out + kFwdCnt, h.fwd_cnt);
}

PacketHeader decode_header(const uint8_t in[kHeaderSize]) {
  PacketHeader h;
  h.src_cid = get64(in + kSrcCid);
  h.dst_cid = get64(in + kDstCid);
  h.src_port = get32(in + kSrcPort);
  h.dst_port = get32(in + kDstPort);
  h.len = get32(in + kLen);
  h.type = get16(in + kType);
  h.op = get16(in + kOp);
  h.flags = get32(in + kFlags);
  h.buf_alloc = get32(in + kBufAlloc);
  h.fwd_cnt = get32(in + kFwdCnt);
  return h;
}

std::string_view op_name(uint16_t op) {
  switch (static_cast<Op>(op)) {
    case Op::invalid: return "INVALID";
    case Op::request: return "REQUEST";
    case Op::response: return "RESPONSE";
    case Op::rst: return "RST";
    case Op::shutdown: return "SHUTDOWN";
    case Op::rw: return "RW";
    case Op::credit_update: return "CREDIT_UPDATE";
    case Op::credit_request: return "CREDIT_REQUEST";
  }
  return "UNKNOWN";
}

}  // namespace berth::vsock
