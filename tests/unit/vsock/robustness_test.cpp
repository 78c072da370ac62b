// A buggy or hostile guest: malformed descriptor chains and rings must be rejected without
// touching memory outside the guest's regions, and the device must keep serving.
#include <gtest/gtest.h>

#include "fake_guest.h"

namespace berth::vsock::testing {
namespace {

constexpr uint16_t kRead = 0;

class VsockRobustness : public ::testing::Test {
 protected:
  void start(GuestOptions options) {
    guest_ = std::make_unique<FakeGuest>(options);
    ASSERT_NO_FATAL_FAILURE(guest_->connect_and_start(device_.vhost_socket()));
    guest_->post_rx(16);
    guest_->set_auto_refill(true);
  }

  // A REQUEST to a port nobody serves: answered by an RST, so it proves the device is alive.
  void expect_alive(uint32_t guest_port) {
    guest_->send(guest_->header(Op::request, guest_port, 31337));
    auto p = guest_->recv();
    ASSERT_TRUE(p) << "device stopped answering";
    EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
    EXPECT_EQ(p->h.dst_port, guest_port);
  }

  // A request header placed in guest memory at `gpa`.
  void put_request(uint64_t gpa, uint32_t guest_port) {
    uint8_t raw[kHeaderSize];
    encode_header(guest_->header(Op::request, guest_port, 31337), raw);
    std::memcpy(guest_->ptr(gpa), raw, kHeaderSize);
  }

  DeviceRunner device_;
  std::unique_ptr<FakeGuest> guest_;
};

TEST_F(VsockRobustness, BadTxChainsAreDroppedAndReturned) {
  ASSERT_NO_FATAL_FAILURE(start({.queue_size = 128, .event_idx = false, .indirect = true, .protocol_features = true}));
  const uint64_t scratch = guest_->scratch(4096);
  put_request(scratch, 1);
  const uint64_t end_of_ram = FakeGuest::kGpaB + FakeGuest::kRegionSize;
  uint16_t published = 0;
  auto bad = [&](uint16_t head, std::vector<std::pair<uint16_t, RawDesc>> descs) {
    guest_->send_raw(head, descs);
    ++published;
  };
  bad(100, {{100, {0xdead00000000, 44, kRead, 0}}});                 // unmapped address
  bad(101, {{101, {end_of_ram - 10, 44, kRead, 0}}});                // runs off the end of RAM
  bad(102, {{102, {0xffffffffffffff00, 0x200, kRead, 0}}});          // address wraps around
  bad(103, {{103, {scratch, 44, kDescNext, 103}}});                  // links to itself
  bad(104, {{104, {scratch, 44, kDescNext, 105}}, {105, {scratch, 8, kDescNext, 104}}});  // 2-cycle
  bad(106, {{106, {scratch, 44, kDescNext, 500}}});                  // next out of range
  bad(107, {{107, {scratch, 44, kDescWrite | kDescNext, 108}}, {108, {scratch, 8, kRead, 0}}});  // order
  // Indirect tables: bad length, outside RAM, nested, with NEXT, looping inside.
  const uint64_t table = guest_->scratch(64);
  auto put_table_entry = [&](uint64_t at, RawDesc d) { std::memcpy(guest_->ptr(at), &d, sizeof d); };
  bad(109, {{109, {table, 17, kDescIndirect, 0}}});
  bad(110, {{110, {0xdead00000000, 32, kDescIndirect, 0}}});
  put_table_entry(table, {table, 16, kDescIndirect, 0});
  bad(111, {{111, {table, 16, kDescIndirect, 0}}});
  bad(112, {{112, {table, 16, kDescIndirect | kDescNext, 113}}, {113, {scratch, 44, kRead, 0}}});
  const uint64_t loop_table = guest_->scratch(32);
  put_table_entry(loop_table, {scratch, 44, kDescNext, 1});
  put_table_entry(loop_table + 16, {scratch, 8, kDescNext, 0});
  bad(114, {{114, {loop_table, 32, kDescIndirect, 0}}});
  // A short packet: not even a header.
  bad(115, {{115, {scratch, 20, kRead, 0}}});
  // A head that is not a descriptor of this ring: cannot be returned.
  guest_->publish_tx_head(1000);
  ++published;

  // All but the out-of-range head come back as used, and no RST answers any of them.
  EXPECT_TRUE(guest_->wait_tx_used(published - 1));
  EXPECT_EQ(guest_->rx_ready(), 0u);

  // Legitimate unusual shapes still work: a header split across descriptors that straddle
  // the boundary between the two memory regions, and an indirect table.
  const uint64_t boundary = FakeGuest::kGpaB - 20;
  put_request(boundary, 2);
  guest_->send_raw(116, {{116, {boundary, 20, kDescNext, 117}}, {117, {boundary + 20, 24, kRead, 0}}});
  auto p = guest_->recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
  EXPECT_EQ(p->h.dst_port, 2u);

  const uint64_t good_table = guest_->scratch(32);
  put_request(scratch + 512, 3);
  put_table_entry(good_table, {scratch + 512, 10, kDescNext, 1});
  put_table_entry(good_table + 16, {scratch + 522, 34, kRead, 0});
  guest_->send_raw(118, {{118, {good_table, 32, kDescIndirect, 0}}});
  p = guest_->recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.dst_port, 3u);

  ASSERT_NO_FATAL_FAILURE(expect_alive(4));
}

TEST_F(VsockRobustness, IndirectWithoutNegotiationIsRejected) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  const uint64_t scratch = guest_->scratch(64);
  put_request(scratch, 1);
  const uint64_t table = guest_->scratch(16);
  RawDesc entry{scratch, 44, kRead, 0};
  std::memcpy(guest_->ptr(table), &entry, sizeof entry);
  guest_->send_raw(120, {{120, {table, 16, kDescIndirect, 0}}});
  EXPECT_TRUE(guest_->wait_tx_used(1));
  EXPECT_FALSE(guest_->recv(200));
  ASSERT_NO_FATAL_FAILURE(expect_alive(5));
}

TEST_F(VsockRobustness, BadRxBuffersAreReturnedUnused) {
  guest_ = std::make_unique<FakeGuest>();
  ASSERT_NO_FATAL_FAILURE(guest_->connect_and_start(device_.vhost_socket()));
  guest_->post_rx_chain({{0xdead00000000, 4096, kDescWrite, 0}});            // unmapped
  guest_->post_rx_chain({{guest_->scratch(4096), 4096, kRead, 0}});         // not writable
  guest_->post_rx_chain({{guest_->scratch(16), 16, kDescWrite, 0}});        // too small
  guest_->post_rx(1);
  guest_->send(guest_->header(Op::request, 9, 31337));
  auto p = guest_->recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
  // The three bad buffers and the good one all came back.
  EXPECT_EQ(guest_->rx_used_idx(), 4);
}

TEST_F(VsockRobustness, RunawayAvailIndexStopsOnlyThatRing) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  guest_->send(guest_->header(Op::request, 1, 31337));
  ASSERT_TRUE(guest_->recv());
  // The guest claims 1000 new buffers in a 128-entry ring.
  uint64_t tx_avail = guest_->avail_gpa(1);
  uint16_t bogus = static_cast<uint16_t>(guest_->tx_avail_idx() + 1000);
  __atomic_store_n(reinterpret_cast<uint16_t*>(guest_->ptr(tx_avail + 2)), bogus, __ATOMIC_RELEASE);
  guest_->kick_tx();
  // The control channel is unaffected, and a ring reset brings the device back.
  auto reply = guest_->vhost().call(Request::get_features);
  EXPECT_NE(reply.u64(), 0u);
  for (uint32_t q = 0; q < 2; ++q) guest_->vhost().call(Request::get_vring_base, bytes_of(vhost_user::VringState{q, 0}));
  guest_->start_rings();
  guest_->post_rx(8);
  ASSERT_NO_FATAL_FAILURE(expect_alive(6));
}

}  // namespace
}  // namespace berth::vsock::testing
