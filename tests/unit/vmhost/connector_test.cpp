// The userspace vsock connector's handshake against a scripted fake device.
#include "connectors/userspace_connector.h"

#include <sys/socket.h>

#include <gtest/gtest.h>

#include <thread>

#include "net/socket_io.h"
#include "test_dir.h"

namespace berth {
namespace {

using namespace std::chrono_literals;

// Accepts one connection, reads the CONNECT line into `line`, writes `reply`, then holds the
// socket open until the test ends.
class ScriptedDevice {
 public:
  ScriptedDevice(const std::string& path, std::string reply) : reply_(std::move(reply)) {
    listener_ = net::listen_unix(path, 0600).value();
    thread_ = std::thread([this] {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      conn_ = UniqueFd(fd);
      auto l = net::read_line(fd, 64, net::Clock::now() + 5s, "device");
      if (l) line = *l;
      if (reply_ == "close") {
        conn_.reset();  // what the device does when the guest refuses
      } else if (!reply_.empty()) {
        (void)net::send_all(fd, reply_, "device");
      }
    });
  }
  ~ScriptedDevice() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string line;

 private:
  std::string reply_;
  UniqueFd listener_;
  UniqueFd conn_;
  std::thread thread_;
};

TEST(UserspaceConnector, HandshakeLeavesEarlyDataInTheStream) {
  vmhost_test::TestDir dir;
  std::unique_ptr<ScriptedDevice> device = std::make_unique<ScriptedDevice>(dir / "v.sock", "OK 1042\nhello");
  UserspaceVsockConnector c(dir / "v.sock");
  auto fd = c.connect(2375, 5s);
  ASSERT_TRUE(fd) << fd.error().what();
  auto data = net::read_some(fd->get(), 64, net::Clock::now() + 5s, "test");
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, "hello");
  device->join();
  EXPECT_EQ(device->line, "CONNECT 2375");
}

TEST(UserspaceConnector, RefusalAndGarbage) {
  vmhost_test::TestDir dir;
  {
    ScriptedDevice device(dir / "a.sock", "close");
    auto fd = UserspaceVsockConnector(dir / "a.sock").connect(1024, 5s);
    ASSERT_FALSE(fd);
    EXPECT_NE(fd.error().what().find("refused"), std::string::npos) << fd.error().what();
    EXPECT_EQ(fd.error().code, Errc::not_found);
  }
  {
    ScriptedDevice device(dir / "b.sock", "NO\n");
    auto fd = UserspaceVsockConnector(dir / "b.sock").connect(1024, 5s);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().code, Errc::protocol);
  }
  auto none = UserspaceVsockConnector(dir / "missing.sock").connect(1024, 1s);
  EXPECT_FALSE(none);
}

TEST(UserspaceConnector, SilentDeviceTimesOut) {
  vmhost_test::TestDir dir;
  ScriptedDevice device(dir / "s.sock", "");
  auto start = net::Clock::now();
  auto fd = UserspaceVsockConnector(dir / "s.sock").connect(22, 300ms);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, Errc::timeout);
  EXPECT_LT(net::Clock::now() - start, 3s);
}

}  // namespace
}  // namespace berth
