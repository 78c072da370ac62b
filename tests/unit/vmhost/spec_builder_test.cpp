#include "supervisor/spec_builder.h"

#include <gtest/gtest.h>

#include "supervisor/agent_client.h"

namespace berth::supervisor {
namespace {

TEST(SpecBuilder, FromConfigImageAndPaths) {
  instance::Config c = instance::default_config("dev", "/home/u");
  c.arch = "amd64";
  c.cpus = 3;
  c.memory = uint64_t{3} << 30;
  c.mounts.push_back({"/data", false});
  image::GuestImage img;
  img.kernel = "/img/vmlinuz";
  img.initrd = "/img/initramfs";
  instance::Paths p("/h/dev");
  auto boot = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1700000000012345678LL));
  VmSpec s = build_spec(c, img, p, boot);
  EXPECT_EQ(s.name, "dev");
  EXPECT_EQ(s.arch, Arch::amd64);
  EXPECT_EQ(s.cpus, 3u);
  EXPECT_EQ(s.memory, uint64_t{3} << 30);
  EXPECT_EQ(s.kernel, "/img/vmlinuz");
  EXPECT_EQ(s.initrd, "/img/initramfs");
  EXPECT_EQ(s.disk, "/h/dev/disk.img");
  EXPECT_EQ(s.console_log, "/h/dev/serial.log");
  EXPECT_EQ(s.control_socket, "/h/dev/qmp.sock");
  ASSERT_EQ(s.mounts.size(), 2u);
  EXPECT_EQ(s.mounts[0].tag, "berth0");
  EXPECT_EQ(s.mounts[0].host_path, "/home/u");
  EXPECT_FALSE(s.mounts[0].read_only);
  EXPECT_EQ(s.mounts[0].socket, "/h/dev/virtiofs-0.sock");
  EXPECT_EQ(s.mounts[1].tag, "berth1");
  EXPECT_TRUE(s.mounts[1].read_only);
  EXPECT_EQ(s.cmdline, "berth.time=1700000000.012345678 berth.mount=berth0:/home/u berth.mount=berth1:/data:ro");
}

TEST(SpecBuilder, PathsWithSpacesAreQuotedForTheKernel) {
  std::vector<VmMountSpec> mounts = {{"berth0", "/Users/u/My Projects", true, ""}};
  EXPECT_EQ(guest_params(mounts, std::chrono::system_clock::time_point()),
            "berth.time=0.000000000 \"berth.mount=berth0:/Users/u/My Projects:ro\"");
}

TEST(AgentClient, TimeBodyIsUnixNanos) {
  // guestagent/init/control_api.h: POST /berth/v1/time {"unix_nanos": N}.
  auto t = std::chrono::system_clock::time_point(std::chrono::nanoseconds(1700000000123456789LL));
  EXPECT_EQ(time_body(t), R"({"unix_nanos":1700000000123456789})");
}

}  // namespace
}  // namespace berth::supervisor

#include "supervisor/console_scan.h"

namespace berth::supervisor {
namespace {

TEST(ConsoleScan, FindsTheLastPanic) {
  EXPECT_EQ(find_panic("[ 1.0] all good\n[ 2.0] Run /init as init process\n"), "");
  EXPECT_EQ(find_panic("[    5.850673] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n"
                       "[    5.850927] CPU: 0 PID: 1 Comm: init\n"),
            "Attempted to kill init! exitcode=0x0000000b");
  EXPECT_EQ(find_panic("Kernel panic - not syncing: VFS: Unable to mount root fs\r\n"), "VFS: Unable to mount root fs");
}

}  // namespace
}  // namespace berth::supervisor
