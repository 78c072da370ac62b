// The vsock stream protocol end to end: host clients on one side, a fake guest driver on
// the other.
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "fake_guest.h"

namespace berth::vsock::testing {
namespace {

struct HostConn {
  UniqueFd client;
  uint32_t host_port = 0;
  uint32_t guest_port = 0;
};

class VsockStream : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(guest_.connect_and_start(device_.vhost_socket())); }

  // Host client connects to guest_port; the guest accepts.
  void open_from_host(uint32_t guest_port, HostConn& out) {
    out.guest_port = guest_port;
    out.client = connect_unix_blocking(device_.host_socket());
    ASSERT_TRUE(out.client.valid());
    write_all(out.client.get(), "CONNECT " + std::to_string(guest_port) + "\n");
    auto req = next_non_credit();
    ASSERT_TRUE(req);
    ASSERT_EQ(req->h.op, static_cast<uint16_t>(Op::request));
    ASSERT_EQ(req->h.dst_port, guest_port);
    out.host_port = req->h.src_port;
    guest_.send(guest_.header(Op::response, guest_port, out.host_port));
    ASSERT_EQ(read_line(out.client.get()), "OK " + std::to_string(out.host_port) + "\n");
  }

  // Skips credit chatter, which the device may interleave at any point.
  std::optional<RxPacket> next_non_credit(int timeout_ms = kTimeoutMs) {
    for (;;) {
      auto p = guest_.recv(timeout_ms);
      if (!p) return p;
      if (p->h.op == static_cast<uint16_t>(Op::credit_update) || p->h.op == static_cast<uint16_t>(Op::credit_request)) {
        continue;
      }
      return p;
    }
  }

  // Collects `n` payload bytes of RW packets for one connection.
  std::string receive_data(const HostConn& c, size_t n) {
    std::string got;
    while (got.size() < n) {
      auto p = next_non_credit();
      if (!p) {
        ADD_FAILURE() << "guest received only " << got.size() << " of " << n << " bytes";
        break;
      }
      EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rw)) << op_name(p->h.op);
      EXPECT_EQ(p->h.src_port, c.host_port);
      EXPECT_EQ(p->h.dst_port, c.guest_port);
      got += p->payload;
    }
    guest_.fwd_cnt[c.guest_port] += static_cast<uint32_t>(got.size());
    return got;
  }

  void guest_write(const HostConn& c, const std::string& data, bool split = true) {
    for (size_t off = 0; off < data.size(); off += 60000) {
      std::string chunk = data.substr(off, 60000);
      guest_.send(guest_.header(Op::rw, c.guest_port, c.host_port, static_cast<uint32_t>(chunk.size())), chunk, split);
      split = !split;
    }
  }

  DeviceRunner device_;
  FakeGuest guest_;
};

TEST_F(VsockStream, HostConnectHandshake) {
  guest_.post_rx(8);
  UniqueFd client = connect_unix_blocking(device_.host_socket());
  write_all(client.get(), "CONNECT 1234\n");
  auto req = guest_.recv();
  ASSERT_TRUE(req);
  EXPECT_EQ(req->h.op, static_cast<uint16_t>(Op::request));
  EXPECT_EQ(req->h.src_cid, kHostCid);
  EXPECT_EQ(req->h.dst_cid, FakeGuest::kCid);
  EXPECT_EQ(req->h.dst_port, 1234u);
  EXPECT_GE(req->h.src_port, 1u << 30);
  EXPECT_EQ(req->h.type, kTypeStream);
  EXPECT_GT(req->h.buf_alloc, 0u);
  EXPECT_EQ(req->h.len, 0u);
  // Nothing for the client until the guest accepts.
  EXPECT_TRUE(quiet(client.get(), 100));
  guest_.send(guest_.header(Op::response, 1234, req->h.src_port));
  EXPECT_EQ(read_line(client.get()), "OK " + std::to_string(req->h.src_port) + "\n");
}

TEST_F(VsockStream, BytesSentWithTheConnectLineArriveAfterAccept) {
  guest_.post_rx(8);
  UniqueFd client = connect_unix_blocking(device_.host_socket());
  write_all(client.get(), "CONNECT 80\nGET / HTTP/1.0\r\n\r\n");
  auto req = guest_.recv();
  ASSERT_TRUE(req);
  HostConn c{UniqueFd(), req->h.src_port, 80};
  guest_.send(guest_.header(Op::response, 80, c.host_port));
  EXPECT_EQ(read_line(client.get()), "OK " + std::to_string(c.host_port) + "\n");
  EXPECT_EQ(receive_data(c, 18), "GET / HTTP/1.0\r\n\r\n");
}

TEST_F(VsockStream, MalformedConnectLineClosesClient) {
  for (const char* line : {"CONNECT\n", "CONNECT abc\n", "connect 5\n", "CONNECT 99999999999\n", "HELLO 5\n"}) {
    UniqueFd client = connect_unix_blocking(device_.host_socket());
    write_all(client.get(), line);
    EXPECT_TRUE(read_eof(client.get())) << line;
  }
  UniqueFd client = connect_unix_blocking(device_.host_socket());
  write_all(client.get(), std::string(200, 'x'));
  EXPECT_TRUE(read_eof(client.get()));
}

TEST_F(VsockStream, DataBothWaysLargerThanOneBuffer) {
  guest_.post_rx(16);
  guest_.set_auto_refill(true);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));

  std::string up = random_bytes(100000, 1);
  std::thread writer([&] { write_all(c.client.get(), up); });
  EXPECT_EQ(receive_data(c, up.size()), up);
  writer.join();

  std::string down = random_bytes(200000, 2);
  guest_write(c, down);
  EXPECT_EQ(read_exact(c.client.get(), down.size()), down);
}

TEST_F(VsockStream, SplitRxBuffersCarryHeaderAndDataSeparately) {
  guest_.post_rx(16, kHeaderSize + 1000, /*split=*/true);
  guest_.set_auto_refill(true);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  std::string up = random_bytes(5000, 3);
  write_all(c.client.get(), up);
  EXPECT_EQ(receive_data(c, up.size()), up);
}

TEST_F(VsockStream, CreditStopsAndResumesHostToGuest) {
  guest_.post_rx(32);
  guest_.set_auto_refill(true);
  guest_.buf_alloc = 8192;
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));

  std::string up = random_bytes(20000, 4);
  write_all(c.client.get(), up);
  std::string got = receive_data(c, 8192);
  ASSERT_EQ(got.size(), 8192u);
  // The guest's buffer is full: the device must hold the rest back.
  for (;;) {
    auto p = guest_.recv(300);
    if (!p) break;
    ASSERT_NE(p->h.op, static_cast<uint16_t>(Op::rw)) << "device sent beyond the guest's credit";
  }
  guest_.send(guest_.header(Op::credit_update, c.guest_port, c.host_port));
  got += receive_data(c, 8192);
  ASSERT_EQ(got.size(), 16384u);
  auto extra = guest_.recv(300);
  if (extra) {
    ASSERT_NE(extra->h.op, static_cast<uint16_t>(Op::rw));
  }
  guest_.send(guest_.header(Op::credit_update, c.guest_port, c.host_port));
  got += receive_data(c, 20000 - 16384);
  EXPECT_EQ(got, up);
}

TEST_F(VsockStream, CreditRequestGetsCreditUpdate) {
  guest_.post_rx(8);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  guest_.send(guest_.header(Op::credit_request, c.guest_port, c.host_port));
  auto p = guest_.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::credit_update));
  EXPECT_EQ(p->h.buf_alloc, 256u * 1024);
  EXPECT_EQ(p->h.fwd_cnt, 0u);
}

TEST_F(VsockStream, GuestKeepsSendingWithinAdvertisedCredit) {
  guest_.post_rx(32);
  guest_.set_auto_refill(true);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  // A well-behaved guest sends four times the device's buffer, never exceeding the
  // credit the device advertised; it must never be left waiting for an update.
  std::string down = random_bytes(1 << 20, 5);
  std::string got;
  std::thread reader([&] { got = read_exact(c.client.get(), down.size(), 20000); });
  uint32_t peer_alloc = 256 * 1024, peer_fwd = 0, sent = 0;
  auto absorb = [&](const RxPacket& p) {
    if (p.h.src_port != c.host_port) return;
    peer_alloc = p.h.buf_alloc;
    peer_fwd = p.h.fwd_cnt;
  };
  while (sent < down.size()) {
    while (guest_.rx_ready()) absorb(*guest_.recv(0));
    uint32_t free = peer_alloc - (sent - peer_fwd);
    if (free == 0) {
      auto p = guest_.recv();
      ASSERT_TRUE(p) << "stalled after " << sent << " bytes: no credit update";
      absorb(*p);
      continue;
    }
    uint32_t n = std::min<uint32_t>({free, 60000, static_cast<uint32_t>(down.size() - sent)});
    guest_.send(guest_.header(Op::rw, c.guest_port, c.host_port, n), std::string_view(down).substr(sent, n));
    sent += n;
  }
  reader.join();
  EXPECT_TRUE(got == down) << got.size();
}

TEST_F(VsockStream, GuestOverrunningCreditIsReset) {
  guest_.post_rx(32);
  guest_.set_auto_refill(true);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  // The client never reads: the socket buffer and then the device's 256 KiB fill up.
  std::string chunk = random_bytes(60000, 6);
  bool reset = false;
  for (int i = 0; i < 20 && !reset; ++i) {
    guest_.send(guest_.header(Op::rw, c.guest_port, c.host_port, static_cast<uint32_t>(chunk.size())), chunk);
    while (auto p = guest_.recv(50)) {
      if (p->h.op == static_cast<uint16_t>(Op::rst)) reset = true;
    }
  }
  EXPECT_TRUE(reset);
}

TEST_F(VsockStream, GuestRefusalClosesClient) {
  guest_.post_rx(8);
  UniqueFd client = connect_unix_blocking(device_.host_socket());
  write_all(client.get(), "CONNECT 2222\n");
  auto req = guest_.recv();
  ASSERT_TRUE(req);
  guest_.send(guest_.header(Op::rst, 2222, req->h.src_port));
  EXPECT_TRUE(read_eof(client.get()));
}

TEST_F(VsockStream, GuestResetClosesEstablishedClient) {
  guest_.post_rx(8);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  guest_.send(guest_.header(Op::rst, c.guest_port, c.host_port));
  EXPECT_TRUE(read_eof(c.client.get()));
}

TEST_F(VsockStream, RstForUnknownPorts) {
  guest_.post_rx(8);
  guest_.send(guest_.header(Op::rw, 5555, 9999, 1), "x");
  auto p = guest_.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
  EXPECT_EQ(p->h.src_cid, kHostCid);
  EXPECT_EQ(p->h.dst_cid, FakeGuest::kCid);
  EXPECT_EQ(p->h.src_port, 9999u);
  EXPECT_EQ(p->h.dst_port, 5555u);

  // Nothing listens at PATH_4321.
  guest_.send(guest_.header(Op::request, 5556, 4321));
  p = guest_.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
  EXPECT_EQ(p->h.src_port, 4321u);
  EXPECT_EQ(p->h.dst_port, 5556u);

  // Some other CID is not reachable through this device.
  PacketHeader other = guest_.header(Op::request, 5557, 80);
  other.dst_cid = 7;
  guest_.send(other);
  p = guest_.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
  EXPECT_EQ(p->h.src_cid, 7u);

  // An RST is never answered, or two sides could ping-pong forever.
  guest_.send(guest_.header(Op::rst, 5558, 9999));
  EXPECT_FALSE(guest_.recv(200));
}

TEST_F(VsockStream, GuestConnectsToHostPort) {
  UniqueFd listener = listen_unix_blocking(device_.host_socket() + "_5000");
  guest_.post_rx(8);
  guest_.send(guest_.header(Op::request, 40000, 5000));
  auto p = guest_.recv();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::response));
  EXPECT_EQ(p->h.src_port, 5000u);
  EXPECT_EQ(p->h.dst_port, 40000u);
  UniqueFd server = accept_with_timeout(listener.get());
  ASSERT_TRUE(server.valid());

  HostConn c{UniqueFd(), 5000, 40000};
  guest_write(c, "ping");
  EXPECT_EQ(read_exact(server.get(), 4), "ping");
  write_all(server.get(), "pong");
  EXPECT_EQ(receive_data(c, 4), "pong");

  PacketHeader bye = guest_.header(Op::shutdown, 40000, 5000);
  bye.flags = kShutdownBoth;
  guest_.send(bye);
  EXPECT_TRUE(read_eof(server.get()));
  p = next_non_credit();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
}

TEST_F(VsockStream, HalfCloseBothDirections) {
  guest_.post_rx(16);
  guest_.set_auto_refill(true);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));

  // Guest stops sending: the client reads the data, then EOF, and may still write.
  guest_write(c, "last words");
  PacketHeader shut = guest_.header(Op::shutdown, c.guest_port, c.host_port);
  shut.flags = kShutdownSend;
  guest_.send(shut);
  EXPECT_EQ(read_exact(c.client.get(), 10), "last words");
  EXPECT_TRUE(read_eof(c.client.get()));
  write_all(c.client.get(), "still talking");
  EXPECT_EQ(receive_data(c, 13), "still talking");

  // Client stops sending: the guest hears SHUTDOWN(SEND) but not RCV.
  ASSERT_EQ(::shutdown(c.client.get(), SHUT_WR), 0);
  auto p = next_non_credit();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::shutdown));
  EXPECT_EQ(p->h.flags, kShutdownSend);

  // Guest closes: the device confirms with RST.
  shut.flags = kShutdownBoth;
  guest_.send(shut);
  p = next_non_credit();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->h.op, static_cast<uint16_t>(Op::rst));
}

TEST_F(VsockStream, ClientCloseReachesGuestAfterItsData) {
  guest_.post_rx(16);
  HostConn c;
  ASSERT_NO_FATAL_FAILURE(open_from_host(1234, c));
  write_all(c.client.get(), "bye");
  c.client.reset();
  std::string data;
  uint32_t flags = 0;
  while (flags != kShutdownBoth) {
    auto p = next_non_credit();
    ASSERT_TRUE(p) << "got flags " << flags;
    if (p->h.op == static_cast<uint16_t>(Op::rw)) {
      EXPECT_EQ(flags, 0u) << "data after SHUTDOWN";
      data += p->payload;
    } else {
      ASSERT_EQ(p->h.op, static_cast<uint16_t>(Op::shutdown)) << op_name(p->h.op);
      flags |= p->h.flags;
    }
  }
  EXPECT_EQ(data, "bye");
  // The guest's RST completes the close; nothing more is owed.
  guest_.send(guest_.header(Op::rst, c.guest_port, c.host_port));
  EXPECT_FALSE(guest_.recv(200));
}

TEST_F(VsockStream, FullRxRingDoesNotBlockTx) {
  UniqueFd listener = listen_unix_blocking(device_.host_socket() + "_5000");
  // No rx buffers at all.
  guest_.send(guest_.header(Op::request, 40000, 5000));
  UniqueFd server = accept_with_timeout(listener.get());
  ASSERT_TRUE(server.valid());
  HostConn c{UniqueFd(), 5000, 40000};
  guest_write(c, "data while rx is full");
  // Far more replies owed than the tx ring has slots: tx must keep draining anyway.
  for (uint32_t i = 0; i < 300; ++i) guest_.send(guest_.header(Op::request, 50000 + i, 6000));
  EXPECT_TRUE(guest_.wait_tx_used(guest_.tx_avail_idx()));
  EXPECT_EQ(read_exact(server.get(), 21), "data while rx is full");
  EXPECT_EQ(guest_.rx_ready(), 0u);

  guest_.post_rx(64);
  guest_.set_auto_refill(true);
  std::set<uint32_t> reset_ports;
  bool responded = false;
  while (auto p = guest_.recv(1000)) {
    if (p->h.op == static_cast<uint16_t>(Op::rst)) reset_ports.insert(p->h.dst_port);
    if (p->h.op == static_cast<uint16_t>(Op::response) && p->h.dst_port == 40000) responded = true;
    if (responded && reset_ports.size() == 300) break;
  }
  EXPECT_TRUE(responded);
  EXPECT_EQ(reset_ports.size(), 300u);
}

TEST_F(VsockStream, FiftyConcurrentConnections) {
  constexpr int kConns = 50;
  guest_.post_rx(64);
  guest_.set_auto_refill(true);
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(connect_unix_blocking(device_.host_socket()));
    write_all(clients.back().get(), "CONNECT 7000\n");
  }
  std::set<uint32_t> host_ports;
  while (host_ports.size() < kConns) {
    auto p = next_non_credit();
    ASSERT_TRUE(p) << host_ports.size() << " requests";
    ASSERT_EQ(p->h.op, static_cast<uint16_t>(Op::request));
    EXPECT_TRUE(host_ports.insert(p->h.src_port).second) << "host port reused";
    guest_.send(guest_.header(Op::response, 7000, p->h.src_port));
  }
  std::vector<HostConn> conns(kConns);
  for (int i = 0; i < kConns; ++i) {
    std::string ok = read_line(clients[i].get());
    ASSERT_EQ(ok.substr(0, 3), "OK ");
    conns[i].host_port = static_cast<uint32_t>(std::stoul(ok.substr(3)));
    conns[i].guest_port = 7000;
    conns[i].client = std::move(clients[i]);
    EXPECT_TRUE(host_ports.count(conns[i].host_port));
    write_all(conns[i].client.get(), "hello " + std::to_string(i));
  }
  std::map<uint32_t, std::string> got;
  size_t expected_bytes = 0;
  for (int i = 0; i < kConns; ++i) expected_bytes += ("hello " + std::to_string(i)).size();
  size_t bytes = 0;
  while (bytes < expected_bytes) {
    auto p = next_non_credit();
    ASSERT_TRUE(p) << bytes << " of " << expected_bytes;
    ASSERT_EQ(p->h.op, static_cast<uint16_t>(Op::rw));
    got[p->h.src_port] += p->payload;
    bytes += p->payload.size();
  }
  for (int i = 0; i < kConns; ++i) {
    EXPECT_EQ(got[conns[i].host_port], "hello " + std::to_string(i));
    std::string reply = "reply " + std::to_string(i);
    guest_.send(guest_.header(Op::rw, 7000, conns[i].host_port, static_cast<uint32_t>(reply.size())), reply);
  }
  for (int i = 0; i < kConns; ++i) {
    std::string reply = "reply " + std::to_string(i);
    EXPECT_EQ(read_exact(conns[i].client.get(), reply.size()), reply);
  }
  // Everyone hangs up; each connection ends with the guest's RST.
  for (auto& c : conns) c.client.reset();
  std::map<uint32_t, uint32_t> flags;  // they may arrive in two steps
  size_t closed = 0;
  while (closed < kConns) {
    auto p = next_non_credit();
    ASSERT_TRUE(p) << closed << " closed";
    ASSERT_EQ(p->h.op, static_cast<uint16_t>(Op::shutdown)) << op_name(p->h.op);
    if ((flags[p->h.src_port] |= p->h.flags) == kShutdownBoth) {
      ++closed;
      guest_.send(guest_.header(Op::rst, 7000, p->h.src_port));
    }
  }
  EXPECT_FALSE(next_non_credit(200));
}

TEST(VsockConnect, UnansweredRequestTimesOut) {
  DeviceRunner device(FakeGuest::kCid, std::chrono::milliseconds(200));
  FakeGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(8);
  UniqueFd client = connect_unix_blocking(device.host_socket());
  write_all(client.get(), "CONNECT 1234\n");
  auto req = guest.recv();
  ASSERT_TRUE(req);
  EXPECT_TRUE(read_eof(client.get(), 3000));
  // The guest saw the REQUEST, so it is told the attempt is over.
  auto rst = guest.recv();
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->h.op, static_cast<uint16_t>(Op::rst));
  EXPECT_EQ(rst->h.src_port, req->h.src_port);
}

TEST(VsockConnect, HostConnectWaitsForGuestDriver) {
  DeviceRunner device;
  UniqueFd client = connect_unix_blocking(device.host_socket());
  write_all(client.get(), "CONNECT 1234\n");
  // The VM is not up yet; the REQUEST goes out once the rings are.
  FakeGuest guest;
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(4);
  auto req = guest.recv();
  ASSERT_TRUE(req);
  EXPECT_EQ(req->h.op, static_cast<uint16_t>(Op::request));
  guest.send(guest.header(Op::response, 1234, req->h.src_port));
  EXPECT_EQ(read_line(client.get()), "OK " + std::to_string(req->h.src_port) + "\n");
}

TEST(VsockEventIdx, DataFlowsWithEventIndexNotifications) {
  DeviceRunner device;
  FakeGuest guest({.queue_size = 64, .event_idx = true, .indirect = false, .protocol_features = true});
  ASSERT_NO_FATAL_FAILURE(guest.connect_and_start(device.vhost_socket()));
  guest.post_rx(32);
  guest.set_auto_refill(true);
  UniqueFd client = connect_unix_blocking(device.host_socket());
  write_all(client.get(), "CONNECT 99\n");
  auto req = guest.recv();
  ASSERT_TRUE(req);
  uint32_t hp = req->h.src_port;
  guest.send(guest.header(Op::response, 99, hp));
  ASSERT_EQ(read_line(client.get()), "OK " + std::to_string(hp) + "\n");
  std::string up = random_bytes(300000, 9);
  std::thread writer([&] { write_all(client.get(), up); });
  std::string got;
  while (got.size() < up.size()) {
    auto p = guest.recv();
    if (!p) break;
    if (p->h.op != static_cast<uint16_t>(Op::rw)) continue;
    got += p->payload;
    guest.fwd_cnt[99] += static_cast<uint32_t>(p->payload.size());
  }
  writer.join();
  EXPECT_EQ(got.size(), up.size());
  EXPECT_TRUE(got == up);
  std::string down = random_bytes(100000, 10);
  for (size_t off = 0; off < down.size(); off += 50000) {
    std::string chunk = down.substr(off, 50000);
    guest.send(guest.header(Op::rw, 99, hp, static_cast<uint32_t>(chunk.size())), chunk);
  }
  EXPECT_TRUE(read_exact(client.get(), down.size()) == down);
}

}  // namespace
}  // namespace berth::vsock::testing
