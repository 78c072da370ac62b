#include "instance/paths.h"

#include <gtest/gtest.h>

#include <set>

#include "test_dir.h"

namespace berth::instance {
namespace {

using vmhost_test::ScopedEnv;

TEST(Paths, EveryFileLivesInTheInstanceDirectory) {
  Paths p("/home/u/.berth/default");
  EXPECT_EQ(p.config(), "/home/u/.berth/default/config.json");
  EXPECT_EQ(p.disk(), "/home/u/.berth/default/disk.img");
  EXPECT_EQ(p.serial_log(), "/home/u/.berth/default/serial.log");
  EXPECT_EQ(p.vmhost_log(), "/home/u/.berth/default/vmhost.log");
  EXPECT_EQ(p.docker_socket(), "/home/u/.berth/default/docker.sock");
  EXPECT_EQ(p.qmp_socket(), "/home/u/.berth/default/qmp.sock");
  EXPECT_EQ(p.vsock_socket(), "/home/u/.berth/default/vsock.sock");
  EXPECT_EQ(p.vhost_vsock_socket(), "/home/u/.berth/default/vhost-vsock.sock");
  EXPECT_EQ(p.virtiofs_socket(1), "/home/u/.berth/default/virtiofs-1.sock");
  EXPECT_EQ(p.virtiofs_pid(1), "/home/u/.berth/default/virtiofs-1.pid");
  EXPECT_EQ(p.vmhost_pid(), "/home/u/.berth/default/vmhost.pid");
  EXPECT_EQ(p.qemu_pid(), "/home/u/.berth/default/qemu.pid");
  EXPECT_EQ(p.lock(), "/home/u/.berth/default/lock");
  EXPECT_EQ(p.status(), "/home/u/.berth/default/status.json");
}

TEST(Paths, RuntimeFilesAreOnlyTheDisposableOnes) {
  Paths p("/d");
  auto files = p.runtime_files(2);
  std::set<std::string> set(files.begin(), files.end());
  EXPECT_EQ(set.size(), files.size());
  for (const auto& keep : {p.config(), p.disk(), p.serial_log(), p.vmhost_log(), p.lock(), p.status()}) {
    EXPECT_EQ(set.count(keep), 0u) << keep;
  }
  for (const auto& gone : {p.docker_socket(), p.qmp_socket(), p.vsock_socket(), p.vhost_vsock_socket(),
                           p.vmhost_pid(), p.qemu_pid(), p.virtiofs_socket(1), p.virtiofs_pid(1)}) {
    EXPECT_EQ(set.count(gone), 1u) << gone;
  }
}

TEST(Paths, SocketPathLengthIsChecked) {
  EXPECT_TRUE(Paths("/home/u/.berth/default").check_socket_lengths(3));
  auto r = Paths("/" + std::string(90, 'x') + "/default").check_socket_lengths(1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find("BERTH_HOME"), std::string::npos) << r.error().what();
}

TEST(Paths, HomeComesFromBerthHomeOrHome) {
  {
    ScopedEnv b("BERTH_HOME", "/srv/berth/");
    EXPECT_EQ(berth_home().value(), "/srv/berth");
  }
  {
    ScopedEnv b("BERTH_HOME", nullptr);
    ScopedEnv h("HOME", "/home/u");
    EXPECT_EQ(berth_home().value(), "/home/u/.berth");
  }
  {
    ScopedEnv b("BERTH_HOME", "relative/dir");
    EXPECT_FALSE(berth_home());
  }
  {
    ScopedEnv b("BERTH_HOME", nullptr);
    ScopedEnv h("HOME", nullptr);
    EXPECT_FALSE(berth_home());
  }
}

}  // namespace
}  // namespace berth::instance
