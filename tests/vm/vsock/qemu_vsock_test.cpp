// QEMU's vhost-user-vsock-device against berth-vsockd: the real front-end negotiates with
// our back-end. With -S nothing boots, so this covers the control plane QEMU runs at
// device realize time (features, protocol features, owner, vring fds, GET_CONFIG).
#include <gtest/gtest.h>

#include "vm_helpers.h"

namespace berth::vsock::vmtest {
namespace {

class QemuVsock : public ::testing::Test {
 protected:
  void SetUp() override {
    qemu_ = find_in_path("qemu-system-x86_64");
    if (qemu_.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  }

  std::string qemu_;
  TempDir dir_;
};

TEST_F(QemuVsock, QemuNegotiatesWithBerthVsockd) {
  const std::string vhost = dir_ / "vhost.sock";
  Child vsockd({BERTH_VSOCKD_PATH, "--vhost-user", vhost, "--host-socket", dir_ / "v.sock", "--cid", "7", "--once",
                "--log-level", "debug", "--log-file", dir_ / "vsockd.log"},
               dir_ / "vsockd.out");
  ASSERT_TRUE(vsockd.started());
  ASSERT_TRUE(wait_for_path(vhost, std::chrono::seconds(5))) << slurp(dir_ / "vsockd.out");

  auto args = qemu_base_args(qemu_, vhost);
  args.insert(args.end(), {"-S", "-qmp", "unix:" + (dir_ / "qmp.sock") + ",server=on,wait=off"});
  Child qemu(args, dir_ / "qemu.log");
  ASSERT_TRUE(qemu.started());
  Qmp qmp;
  ASSERT_TRUE(qmp.connect(dir_ / "qmp.sock", std::chrono::seconds(20))) << "QEMU: " << slurp(dir_ / "qemu.log");
  ASSERT_TRUE(qmp.execute("qmp_capabilities"));

  auto status = qmp.execute("query-status");
  ASSERT_TRUE(status && status->contains("return")) << (status ? status->dump() : "no reply");
  EXPECT_EQ((*status)["return"]["status"], "prelaunch");
  auto qtree = qmp.execute("human-monitor-command", {{"command-line", "info qtree"}});
  ASSERT_TRUE(qtree && qtree->contains("return"));
  EXPECT_NE((*qtree)["return"].get<std::string>().find("vhost-user-vsock-device"), std::string::npos);
  EXPECT_TRUE(vsockd.running());

  ASSERT_TRUE(qmp.execute("quit"));
  EXPECT_EQ(qemu.exit_status(std::chrono::seconds(10)), 0) << slurp(dir_ / "qemu.log");
  // --once: the back-end leaves with its front-end.
  EXPECT_EQ(vsockd.exit_status(std::chrono::seconds(10)), 0) << slurp(dir_ / "vsockd.out");
  std::string log = slurp(dir_ / "vsockd.log");
  EXPECT_NE(log.find("front-end connected"), std::string::npos) << log;
  EXPECT_NE(log.find("GET_CONFIG"), std::string::npos) << log;
  EXPECT_EQ(log.find("failed"), std::string::npos) << log;
}

TEST_F(QemuVsock, QemuRefusesToStartWithoutBackend) {
  // The check above means something only if QEMU really depends on the back-end.
  auto args = qemu_base_args(qemu_, dir_ / "nobody.sock");
  args.push_back("-S");
  Child qemu(args, dir_ / "qemu.log");
  ASSERT_TRUE(qemu.started());
  auto status = qemu.exit_status(std::chrono::seconds(20));
  ASSERT_TRUE(status);
  EXPECT_NE(*status, 0);
}

}  // namespace
}  // namespace berth::vsock::vmtest
