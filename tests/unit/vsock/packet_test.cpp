#include <gtest/gtest.h>

#include <cstring>

#include "vsock/packet.h"

namespace berth::vsock {
namespace {

TEST(VsockPacket, HeaderLayoutMatchesSpec) {
  PacketHeader h;
  h.src_cid = 0x0102030405060708;
  h.dst_cid = 2;
  h.src_port = 0x11223344;
  h.dst_port = 1024;
  h.len = 5;
  h.type = kTypeStream;
  h.op = static_cast<uint16_t>(Op::rw);
  h.flags = 3;
  h.buf_alloc = 0x40000;
  h.fwd_cnt = 0xdeadbeef;
  uint8_t raw[kHeaderSize];
  encode_header(h, raw);
  const uint8_t expected[kHeaderSize] = {
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // src_cid
      2,    0,    0,    0,    0,    0,    0,    0,     // dst_cid
      0x44, 0x33, 0x22, 0x11,                          // src_port
      0x00, 0x04, 0,    0,                             // dst_port
      5,    0,    0,    0,                             // len
      1,    0,                                         // type
      5,    0,                                         // op
      3,    0,    0,    0,                             // flags
      0,    0,    4,    0,                             // buf_alloc
      0xef, 0xbe, 0xad, 0xde,                          // fwd_cnt
  };
  EXPECT_EQ(0, std::memcmp(raw, expected, kHeaderSize));
  PacketHeader back = decode_header(raw);
  EXPECT_EQ(back.src_cid, h.src_cid);
  EXPECT_EQ(back.src_port, h.src_port);
  EXPECT_EQ(back.fwd_cnt, h.fwd_cnt);
  EXPECT_EQ(back.op, h.op);
}

}  // namespace
}  // namespace berth::vsock
