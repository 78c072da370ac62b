// The Docker socket bridge against a fake guest: a Unix socket that speaks the userspace
// vsock device's CONNECT handshake and then behaves like a hijacked Docker stream.
#include "bridge/socket_bridge.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "berth/common/log.h"
#include "connectors/userspace_connector.h"
#include "net/socket_io.h"
#include "test_dir.h"

namespace berth::bridge {
namespace {

using namespace std::chrono_literals;
using vmhost_test::TestDir;

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Accepts connections on `path`; for each: reads "CONNECT <port>\n", records the port and
// either refuses (closes) or answers "OK 1\n", echoes everything until the host
// half-closes, then sends "EOF-SEEN\n" and closes its side.
class FakeGuest {
 public:
  explicit FakeGuest(std::string path, bool refuse = false) : refuse_(refuse) {
    listener_ = net::listen_unix(path, 0600).value();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeGuest() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
    for (auto& t : conns_) t.join();
  }
  std::string last_connect_line() {
    std::lock_guard l(mu_);
    return last_line_;
  }
  int connections() const { return connections_; }

 private:
  void serve() {
    for (;;) {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_) return;
        if (errno == EAGAIN || errno == EINTR) {
          std::this_thread::sleep_for(5ms);
          continue;
        }
        return;
      }
      ++connections_;
      conns_.emplace_back([this, fd] { handle(UniqueFd(fd)); });
    }
  }
  void handle(UniqueFd fd) {
    // listen_unix makes the listener non-blocking; accepted sockets inherit nothing on
    // Linux, but be explicit.
    int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    auto line = net::read_line(fd.get(), 64, net::Clock::now() + 5s, "fake guest");
    if (!line) return;
    {
      std::lock_guard l(mu_);
      last_line_ = *line;
    }
    if (refuse_) return;
    (void)net::send_all(fd.get(), "OK 1\n", "fake guest");
    std::string got = read_all(fd.get());
    (void)net::send_all(fd.get(), got, "fake guest");
    (void)net::send_all(fd.get(), "EOF-SEEN\n", "fake guest");
    ::shutdown(fd.get(), SHUT_WR);
    // Wait for the host to close its end before closing ours.
    read_all(fd.get());
  }

  bool refuse_;
  UniqueFd listener_;
  std::thread thread_;
  std::vector<std::thread> conns_;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::string last_line_;
};

class BridgeTest : public ::testing::Test {
 protected:
  std::unique_ptr<SocketBridge> start_bridge(const std::string& guest_socket) {
    BridgeOptions o;
    o.path = dir_ / "docker.sock";
    o.guest_port = 2375;
    o.connect_timeout = 2s;
    o.instance = "test";
    auto b = SocketBridge::start(o, std::make_shared<UserspaceVsockConnector>(guest_socket), log::get("vmhost"));
    EXPECT_TRUE(b) << (b ? "" : b.error().what());
    return b ? std::move(*b) : nullptr;
  }
  UniqueFd client() {
    auto fd = net::connect_unix(dir_ / "docker.sock");
    EXPECT_TRUE(fd);
    return fd ? std::move(*fd) : UniqueFd();
  }
  TestDir dir_;
};

TEST_F(BridgeTest, SocketIsPrivate) {
  FakeGuest guest(dir_ / "vsock.sock");
  auto bridge = start_bridge(dir_ / "vsock.sock");
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "docker.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, ::getuid());
}

TEST_F(BridgeTest, PipesBothWaysAndKeepsHalfClose) {
  FakeGuest guest(dir_ / "vsock.sock");
  auto bridge = start_bridge(dir_ / "vsock.sock");
  UniqueFd c = client();
  std::string payload;
  for (int i = 0; i < 300000; ++i) payload += static_cast<char>('a' + i % 26);
  // Writes from another thread: the echo comes back while we are still sending.
  std::thread writer([&] {
    EXPECT_TRUE(net::send_all(c.get(), payload, "client"));
    // Half-close: the guest must see EOF while our receiving side stays open.
    ::shutdown(c.get(), SHUT_WR);
  });
  std::string got = read_all(c.get());
  writer.join();
  EXPECT_EQ(guest.last_connect_line(), "CONNECT 2375");
  ASSERT_EQ(got.size(), payload.size() + 9);
  EXPECT_EQ(got.substr(0, payload.size()), payload);
  EXPECT_EQ(got.substr(payload.size()), "EOF-SEEN\n");
}

TEST_F(BridgeTest, ManyConnectionsAtOnce) {
  FakeGuest guest(dir_ / "vsock.sock");
  auto bridge = start_bridge(dir_ / "vsock.sock");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      auto fd = net::connect_unix(dir_ / "docker.sock");
      if (!fd) return;
      std::string msg = "message " + std::to_string(i);
      if (!net::send_all(fd->get(), msg, "client")) return;
      ::shutdown(fd->get(), SHUT_WR);
      if (read_all(fd->get()) == msg + "EOF-SEEN\n") ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 16);
}

TEST_F(BridgeTest, UnreachableGuestGetsADockerStyleError) {
  FakeGuest guest(dir_ / "vsock.sock", /*refuse=*/true);
  auto bridge = start_bridge(dir_ / "vsock.sock");
  UniqueFd c = client();
  std::string reply = read_all(c.get());
  EXPECT_EQ(reply.rfind("HTTP/1.1 502", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"message\""), std::string::npos) << reply;
  EXPECT_NE(reply.find("refused"), std::string::npos) << reply;
}

TEST_F(BridgeTest, NoGuestAtAllGetsTheErrorToo) {
  auto bridge = start_bridge(dir_ / "nobody.sock");
  UniqueFd c = client();
  std::string reply = read_all(c.get());
  EXPECT_EQ(reply.rfind("HTTP/1.1 502", 0), 0u) << reply;
}

TEST_F(BridgeTest, StopEndsOpenConnectionsAndRemovesTheSocket) {
  FakeGuest guest(dir_ / "vsock.sock");
  auto bridge = start_bridge(dir_ / "vsock.sock");
  UniqueFd c = client();
  ASSERT_TRUE(net::send_all(c.get(), "x", "client"));
  // Wait until the connection is piped.
  for (int i = 0; i < 200 && bridge->active_connections() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(bridge->active_connections(), 1u);
  bridge->stop();
  EXPECT_EQ(read_all(c.get()).find("EOF-SEEN"), std::string::npos);
  EXPECT_FALSE(net::connect_unix(dir_ / "docker.sock"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "docker.sock"));
}

// `docker run -i` half-closes once stdin is sent, then may leave outright (Ctrl-C) while
// the container has not started yet and the guest has written nothing: the guest must
// learn that the client is gone, not keep a half-open attach for ever.
TEST_F(BridgeTest, ClientThatLeavesAfterHalfCloseHangsUpTheGuestSide) {
  auto listener = net::listen_unix(dir_ / "vsock.sock", 0600).value();
  std::atomic<int> guest_saw{0};  // 1: only the half-close, 2: the hang-up
  std::thread guest([&] {
    pollfd lp{listener.get(), POLLIN, 0};
    if (::poll(&lp, 1, 5000) != 1) return;
    UniqueFd fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    int flags = ::fcntl(fd.get(), F_GETFL);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    if (!net::read_line(fd.get(), 64, net::Clock::now() + 5s, "fake guest")) return;
    (void)net::send_all(fd.get(), "OK 1\n", "fake guest");
    if (read_all(fd.get()) != "stdin") return;
    guest_saw = 1;
    pollfd p{fd.get(), 0, 0};
    if (::poll(&p, 1, 5000) == 1 && (p.revents & POLLHUP)) guest_saw = 2;
  });
  auto bridge = start_bridge(dir_ / "vsock.sock");
  {
    UniqueFd c = client();
    ASSERT_TRUE(net::send_all(c.get(), "stdin", "client"));
    ::shutdown(c.get(), SHUT_WR);
    for (int i = 0; i < 500 && guest_saw == 0; ++i) std::this_thread::sleep_for(5ms);
  }
  guest.join();
  EXPECT_EQ(guest_saw, 2);
}

TEST_F(BridgeTest, RefusesToStealALiveSocket) {
  FakeGuest guest(dir_ / "vsock.sock");
  auto first = start_bridge(dir_ / "vsock.sock");
  BridgeOptions o;
  o.path = dir_ / "docker.sock";
  o.guest_port = 2375;
  auto second = SocketBridge::start(o, std::make_shared<UserspaceVsockConnector>(dir_ / "vsock.sock"),
                                    log::get("vmhost"));
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().what().find("already listening"), std::string::npos);
}

}  // namespace
}  // namespace berth::bridge
