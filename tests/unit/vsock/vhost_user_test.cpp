// The vhost-user control protocol, spoken byte-for-byte the way QEMU does.
#include <sys/eventfd.h>

#include <gtest/gtest.h>

#include <set>

#include "fake_guest.h"

namespace berth::vsock::testing {
namespace {

using namespace vhost_user;

std::vector<uint8_t> config_request(uint32_t offset, uint32_t size) {
  std::vector<uint8_t> payload = bytes_of(ConfigHeader{offset, size, 0});
  payload.resize(payload.size() + size);
  return payload;
}

TEST(VhostUser, HandshakeOffersFeaturesAndConfigCarriesCid) {
  DeviceRunner device(42);
  VhostUserClient client;
  ASSERT_NO_FATAL_FAILURE(client.connect(device.vhost_socket()));
  uint64_t features = client.call(Request::get_features).u64();
  EXPECT_TRUE(features & kFeatureVersion1);
  EXPECT_TRUE(features & kFeatureProtocolFeatures);
  EXPECT_TRUE(features & kFeatureEventIdx);
  uint64_t proto = client.call(Request::get_protocol_features).u64();
  EXPECT_TRUE(proto & kProtocolConfig);
  EXPECT_TRUE(proto & kProtocolReplyAck);
  EXPECT_FALSE(proto & kProtocolMq);
  client.send(Request::set_protocol_features, bytes_of<uint64_t>(kProtocolConfig | kProtocolReplyAck));
  EXPECT_EQ(client.ack(Request::set_owner, {}), 0u);
  EXPECT_EQ(client.call(Request::get_queue_num).u64(), 3u);

  Message config = client.call(Request::get_config, config_request(0, 8));
  ASSERT_EQ(config.payload.size(), sizeof(ConfigHeader) + 8);
  ConfigHeader back;
  std::memcpy(&back, config.payload.data(), sizeof back);
  EXPECT_EQ(back.offset, 0u);
  EXPECT_EQ(back.size, 8u);
  uint64_t cid;
  std::memcpy(&cid, config.payload.data() + sizeof(ConfigHeader), 8);
  EXPECT_EQ(cid, 42u);

  // Partial reads of the config space work too.
  config = client.call(Request::get_config, config_request(0, 4));
  ASSERT_EQ(config.payload.size(), sizeof(ConfigHeader) + 4);
  EXPECT_EQ(config.payload[sizeof(ConfigHeader)], 42);
}

TEST(VhostUser, BadGetConfigGetsEmptyReply) {
  DeviceRunner device;
  VhostUserClient client;
  ASSERT_NO_FATAL_FAILURE(client.connect(device.vhost_socket()));
  EXPECT_TRUE(client.call(Request::get_config, config_request(250, 8)).payload.empty());
  EXPECT_TRUE(client.call(Request::get_config, config_request(0, 1000)).payload.empty());
  auto mismatched = config_request(0, 8);
  mismatched.resize(mismatched.size() - 2);
  EXPECT_TRUE(client.call(Request::get_config, mismatched).payload.empty());
}

TEST(VhostUser, MalformedRequestsAreRefusedAndConnectionSurvives) {
  DeviceRunner device;
  VhostUserClient client;
  ASSERT_NO_FATAL_FAILURE(client.connect(device.vhost_socket()));
  client.send(Request::set_protocol_features, bytes_of<uint64_t>(kProtocolConfig | kProtocolReplyAck));
  UniqueFd efd(::eventfd(0, EFD_CLOEXEC));

  EXPECT_NE(client.ack(Request::set_vring_num, {1, 2, 3}), 0u);                        // short payload
  EXPECT_NE(client.ack(Request::set_vring_num, bytes_of(VringState{0, 3})), 0u);       // not a power of two
  EXPECT_NE(client.ack(Request::set_vring_num, bytes_of(VringState{0, 65536})), 0u);   // too big
  EXPECT_NE(client.ack(Request::set_vring_num, bytes_of(VringState{9, 128})), 0u);     // no such queue
  EXPECT_NE(client.ack(Request::set_vring_kick, bytes_of<uint64_t>(0)), 0u);           // fd missing
  EXPECT_NE(client.ack(Request::set_vring_kick, bytes_of<uint64_t>(0 | kVringNoFd)), 0u);  // polling mode
  EXPECT_NE(client.ack(Request::set_vring_call, bytes_of<uint64_t>(7), {efd.get()}), 0u);  // no such queue
  EXPECT_NE(client.ack(Request::set_features, bytes_of<uint64_t>(1ull << 63)), 0u);    // never offered
  EXPECT_NE(client.ack(Request::set_config, config_request(0, 8)), 0u);                // read-only
  EXPECT_NE(client.ack(static_cast<Request>(99), {}), 0u);                             // unknown
  EXPECT_NE(client.ack(Request::set_vring_enable, bytes_of(VringState{0, 1})), 0u);    // features not set

  // Memory tables: too many regions, fd count mismatch, empty region, overlap.
  MemTableHeader nine{9, 0};
  std::vector<uint8_t> payload = bytes_of(nine);
  payload.resize(payload.size() + 9 * sizeof(MemRegion));
  EXPECT_NE(client.ack(Request::set_mem_table, payload), 0u);
  FakeGuest guest;
  auto table = [&](std::vector<MemRegion> regions) {
    std::vector<uint8_t> p = bytes_of(MemTableHeader{static_cast<uint32_t>(regions.size()), 0});
    for (auto& r : regions) {
      auto b = bytes_of(r);
      p.insert(p.end(), b.begin(), b.end());
    }
    return p;
  };
  MemRegion ok_region{0x1000, 1 << 20, 0x7f0000000000, 0};
  EXPECT_NE(client.ack(Request::set_mem_table, table({ok_region, ok_region}), {guest.memfd()}), 0u);
  EXPECT_NE(client.ack(Request::set_mem_table, table({{0x1000, 0, 0x7f0000000000, 0}}), {guest.memfd()}), 0u);
  EXPECT_NE(client.ack(Request::set_mem_table, table({ok_region, {0x2000, 1 << 20, 0x7f1000000000, 0}}),
                       {guest.memfd(), guest.memfd()}),
            0u);
  EXPECT_NE(client.ack(Request::set_mem_table, table({{~0ull - 10, 1 << 20, 0, 0}}), {guest.memfd()}), 0u);
  EXPECT_EQ(client.ack(Request::set_mem_table, table({ok_region}), {guest.memfd()}), 0u);

  // Still talking.
  EXPECT_NE(client.call(Request::get_features).u64(), 0u);
}

TEST(VhostUser, BrokenFramingDropsConnectionAndAllowsReconnect) {
  DeviceRunner device;
  {
    VhostUserClient client;
    ASSERT_NO_FATAL_FAILURE(client.connect(device.vhost_socket()));
    Header bad_version{static_cast<uint32_t>(Request::get_features), 2, 0};
    client.send_raw(&bad_version, sizeof bad_version);
    EXPECT_TRUE(client.closed_by_peer());
  }
  {
    VhostUserClient client;
    ASSERT_NO_FATAL_FAILURE(client.connect(device.vhost_socket()));
    Header huge{static_cast<uint32_t>(Request::set_mem_table), kVersion, 1 << 20};
    client.send_raw(&huge, sizeof huge);
    EXPECT_TRUE(client.closed_by_peer());
  }
  FakeGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(2);
  guest.send(guest.header(Op::request, 1, 31337));
  auto p = guest.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
}

TEST(VhostUser, SecondFrontEndIsTurnedAway) {
  DeviceRunner device;
  VhostUserClient first, second;
  ASSERT_NO_FATAL_FAILURE(first.connect(device.vhost_socket()));
  EXPECT_NE(first.call(Request::get_features).u64(), 0u);
  ASSERT_NO_FATAL_FAILURE(second.connect(device.vhost_socket()));
  EXPECT_TRUE(second.closed_by_peer());
  EXPECT_NE(first.call(Request::get_features).u64(), 0u);
}

TEST(VhostUser, GetVringBaseStopsTheRing) {
  DeviceRunner device;
  FakeGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(8);
  for (uint32_t i = 0; i < 3; ++i) guest.send(guest.header(Op::request, 100 + i, 31337));
  ASSERT_TRUE(guest.wait_tx_used(3));
  Message base = guest.vhost().call(Request::get_vring_base, bytes_of(VringState{1, 0}));
  VringState state;
  ASSERT_EQ(base.payload.size(), sizeof state);
  std::memcpy(&state, base.payload.data(), sizeof state);
  EXPECT_EQ(state.index, 1u);
  EXPECT_EQ(state.num, 3u);

  // Stopped: a new packet and kick go unprocessed.
  guest.send(guest.header(Op::request, 200, 31337));
  EXPECT_FALSE(guest.wait_tx_used(4, 300));

  // Restarted where it stopped (as QEMU does after a pause), the pending packet is handled.
  UniqueFd kick(::eventfd(0, EFD_CLOEXEC));
  EXPECT_EQ(guest.vhost().ack(Request::set_vring_base, bytes_of(VringState{1, 3})), 0u);
  // The device dropped the old kick fd when it stopped; the restart brings a new one.
  EXPECT_EQ(guest.vhost().ack(Request::set_vring_kick, bytes_of<uint64_t>(1), {kick.get()}), 0u);
  EXPECT_TRUE(guest.wait_tx_used(4));
  std::set<uint32_t> ports;
  while (auto p = guest.recv(300)) ports.insert(p->h.dst_port);
  EXPECT_EQ(ports, (std::set<uint32_t>{100, 101, 102, 200}));
}

TEST(VhostUser, WorksWithoutProtocolFeatures) {
  DeviceRunner device;
  FakeGuest guest({.queue_size = 256, .event_idx = false, .indirect = false, .protocol_features = false});
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(4);
  guest.send(guest.header(Op::request, 1, 31337));
  auto p = guest.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
}

TEST(VhostUser, DisabledRingIsNotProcessed) {
  DeviceRunner device;
  FakeGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(4);
  EXPECT_EQ(guest.vhost().ack(Request::set_vring_enable, bytes_of(VringState{1, 0})), 0u);
  guest.send(guest.header(Op::request, 1, 31337));
  EXPECT_FALSE(guest.wait_tx_used(1, 300));
  EXPECT_EQ(guest.vhost().ack(Request::set_vring_enable, bytes_of(VringState{1, 1})), 0u);
  EXPECT_TRUE(guest.wait_tx_used(1));
  EXPECT_TRUE(guest.recv());
}

TEST(VhostUser, FrontEndDisconnectClosesHostConnections) {
  DeviceRunner device;
  auto guest = std::make_unique<FakeGuest>();
  ASSERT_NO_FATAL_FAILURE(guest->connect_and_start(device.vhost_socket()));
  guest->post_rx(4);
  UniqueFd client = connect_unix_blocking(device.host_socket());
  write_all(client.get(), "CONNECT 1234\n");
  auto req = guest->recv();
  ASSERT_TRUE(req);
  guest->send(guest->header(Op::response, 1234, req->h.src_port));
  ASSERT_EQ(read_line(client.get()), "OK " + std::to_string(req->h.src_port) + "\n");
  guest.reset();  // QEMU exits
  EXPECT_TRUE(read_eof(client.get()));
}

}  // namespace
}  // namespace berth::vsock::testing
