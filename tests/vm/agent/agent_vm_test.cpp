// berth-agent as PID 1 (guestagent/init/) in a real VM: boot to ready with the boot timeline,
// host folders both ways, clock, info, reaping, pivot_root-able root, malformed command-line
// entries and a bad share reported by name, clean shutdown by API and by ACPI power button,
// the data disk across a clean shutdown and a power loss, and a foreign disk left untouched;
// and the cross-built arm64 image booting to ready under qemu-system-aarch64.
//
// Console logs, vsockd/virtiofsd/QEMU logs stay in /tmp/berth-vm-vsock-* when a test fails.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "berth/common/protocol.h"
#include "berth/common/version.h"
#include "guest_vm.h"
#include "process.h"

namespace berth::test::agent {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using vsock::vmtest::slurp;
using vsock::vmtest::TempDir;

constexpr auto kBootTimeout = 240s;  // TCG on a busy machine; a first boot also formats
constexpr auto kExitTimeout = 90s;

std::string make_disk(const TempDir& dir, const std::string& name, uintmax_t size) {
  std::string path = dir / name;
  std::ofstream(path).close();
  fs::resize_file(path, size);
  return path;
}

VmConfig config_of(const std::string& disk, const std::string& cmdline) {
  VmConfig c;
  c.disk = disk;
  c.cmdline = cmdline;
  return c;
}

int64_t host_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string out_of(const json& r) { return r.value("stdout", "") + r.value("stderr", ""); }

class AgentVm : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& img = guest_image();
    if (!img.skip.empty()) GTEST_SKIP() << img.skip;
    ASSERT_TRUE(img.error.empty()) << img.error;
  }

  // Boots and waits for the control API; fails the test (with the console) otherwise.
  void boot(GuestVm& vm, const VmConfig& config, json* ready = nullptr) {
    std::string why;
    ASSERT_TRUE(vm.start(config, why)) << why;
    auto r = vm.wait_ready(kBootTimeout);
    ASSERT_TRUE(r) << "the control API never answered ready; console:\n" << vm.console();
    if (ready) *ready = *r;
  }

  void shutdown_via_api(GuestVm& vm) {
    auto r = vm.request(protocol::kControlPort, "POST", "/berth/v1/shutdown", "{}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    auto status = vm.wait_exit(kExitTimeout);
    ASSERT_TRUE(status) << "QEMU did not exit after POST /berth/v1/shutdown; console:\n" << vm.console();
    EXPECT_EQ(*status, 0);
  }

  TempDir dir_;
};

TEST_F(AgentVm, FirstBootSharesTimelineAndCleanShutdown) {
  if (::access("/usr/lib/qemu/virtiofsd", X_OK) != 0) GTEST_SKIP() << "/usr/lib/qemu/virtiofsd is missing (Debian: qemu-system-common)";
  if (!is_root()) GTEST_SKIP() << "virtiofsd needs root";
  std::string share = dir_ / "share";
  fs::create_directories(share);
  write_file(share + "/from-host.txt", "written by the host\n");

  GuestVm vm(dir_ / "vm");
  VmConfig config;
  config.disk = make_disk(dir_, "disk.img", 256u << 20);
  config.shares = {{"berth0", share}};
  config.cmdline = "berth.debug=1 berth.hostname=agent-test berth.time=" + std::to_string(host_now_s()) +
                   " berth.mount=berth0:" + share +
                   // No device carries this tag: reported, boot goes on.
                   " berth.mount=berth9:/mnt/missing"
                   // Malformed and unknown entries: reported by name.
                   " berth.mount=garbage berth.bogus=1";
  json ready;
  ASSERT_NO_FATAL_FAILURE(boot(vm, config, &ready));

  // Ready, with the protocol, version and a boot timeline in order.
  EXPECT_EQ(ready["ready"], true);
  EXPECT_EQ(ready["protocol"], protocol::kProtocolVersion);
  EXPECT_EQ(ready["version"], kVersion);
  const json& boot = ready["boot"];
  for (const char* key : {"init_ms", "mounts_ms", "modules_disk_ms", "modules_net_ms", "modules_ms", "disk_ms", "net_ms",
                          "shares_ms", "ready_ms"})
    ASSERT_TRUE(boot.contains(key)) << key << " missing: " << boot.dump();
  auto at = [&](const char* key) { return boot[key].get<int64_t>(); };
  EXPECT_GT(at("init_ms"), 0);
  // The disk and the network each start once their driver is in, while other modules load.
  EXPECT_LE(at("init_ms"), at("modules_disk_ms"));
  EXPECT_LE(at("modules_disk_ms"), at("disk_ms"));
  EXPECT_LE(at("modules_disk_ms"), at("modules_net_ms"));
  EXPECT_LE(at("modules_net_ms"), at("net_ms"));
  EXPECT_LE(at("modules_net_ms"), at("modules_ms"));
  // Shares need virtiofs (loaded last) and come after the disk; ready after everything.
  EXPECT_LE(at("modules_ms"), at("shares_ms"));
  EXPECT_LE(at("disk_ms"), at("shares_ms"));
  for (const char* key : {"modules_ms", "disk_ms", "net_ms", "shares_ms"}) EXPECT_LE(at(key), at("ready_ms")) << key;
  std::cout << "boot timeline (ms since kernel start, TCG): " << boot.dump() << "\n";

  // Bad entries: named on the console and in the warnings, and boot went on.
  std::string warnings = ready["warnings"].dump();
  for (const char* w : {"berth.mount=garbage: expected TAG:/abs/path", "berth.bogus=1: unknown parameter berth.bogus",
                        "share berth9 at /mnt/missing"})
    EXPECT_NE(warnings.find(w), std::string::npos) << w << " not in " << warnings;
  std::string console = vm.console();
  EXPECT_NE(console.find("kernel command line: berth.mount=garbage: expected TAG:/abs/path[:ro] (ignored)"),
            std::string::npos) << console;
  EXPECT_NE(console.find("berth.bogus=1: unknown parameter berth.bogus"), std::string::npos) << console;
  EXPECT_NE(console.find("share berth9 at /mnt/missing failed"), std::string::npos) << console;
  EXPECT_NE(console.find("/dev/vda: blank (256 MiB), formatting it ext4"), std::string::npos) << console;

  // The Docker API server (guestagent/api/) got vsock 2375 from PID 1.
  auto ping = vm.request(protocol::kDockerApiPort, "GET", "/_ping");
  ASSERT_TRUE(ping) << "nothing listens on vsock 2375";
  EXPECT_EQ(ping->status, 200);
  EXPECT_EQ(ping->body, "OK");

  // The host folder at the same path, both ways.
  auto r = vm.sh("cat " + share + "/from-host.txt && echo 'written by the guest' > " + share + "/from-guest.txt");
  EXPECT_EQ(r["exit_code"], 0) << out_of(r);
  EXPECT_EQ(r.value("stdout", ""), "written by the host\n");
  EXPECT_EQ(read_file(share + "/from-guest.txt"), "written by the guest\n");
  write_file(share + "/later.txt", "after boot\n");
  EXPECT_EQ(vm.sh("cat " + share + "/later.txt").value("stdout", ""), "after boot\n");

  // Host name, cgroup controllers, DNS, and a root that containers can pivot_root away from.
  EXPECT_EQ(vm.sh("hostname").value("stdout", ""), "agent-test\n");
  std::string controllers = vm.sh("cat /sys/fs/cgroup/cgroup.subtree_control").value("stdout", "");
  for (const char* c : {"cpu", "memory", "pids", "io"}) EXPECT_NE(controllers.find(c), std::string::npos) << controllers;
  EXPECT_NE(vm.sh("cat /etc/resolv.conf").value("stdout", "").find("nameserver 10.0.2.3"), std::string::npos);
  r = vm.sh("busybox unshare -m sh -c 'mount -t tmpfs t /mnt && mkdir /mnt/old && cd /mnt && pivot_root . old && "
            "echo PIVOTED'");
  EXPECT_EQ(r.value("stdout", ""), "PIVOTED\n") << out_of(r);

  // Orphans: the background sleep outlives its shell and comes back to PID 1, which reaps it.
  r = vm.sh("sh -c 'sleep 0.2 &'; sleep 1.5; grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l");
  EXPECT_EQ(r.value("stdout", ""), "0\n") << "zombies left: " << out_of(r);

  // The clock: from berth.time at boot, then from the host's sync.
  int64_t guest_s = std::stoll(vm.sh("date +%s").value("stdout", "0"));
  EXPECT_NEAR(static_cast<double>(guest_s), static_cast<double>(host_now_s()), 120.0);
  int64_t tomorrow_ns = (host_now_s() + 86400) * 1000000000LL;
  auto t = vm.request(protocol::kControlPort, "POST", "/berth/v1/time", json{{"unix_nanos", tomorrow_ns}}.dump());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 200) << t->body;
  guest_s = std::stoll(vm.sh("date +%s").value("stdout", "0"));
  EXPECT_NEAR(static_cast<double>(guest_s), static_cast<double>(host_now_s() + 86400), 120.0);
  t = vm.request(protocol::kControlPort, "POST", "/berth/v1/time", R"({"unix_nanos": "soon"})");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 400) << t->body;

  // Info: kernel, memory, CPUs, mounts, the disk and the network.
  auto info_reply = vm.request(protocol::kControlPort, "GET", "/berth/v1/info");
  ASSERT_TRUE(info_reply);
  json info = info_reply->json();
  EXPECT_FALSE(info["kernel"]["release"].get<std::string>().empty());
  EXPECT_GE(info["cpus"].get<int>(), 1);
  EXPECT_GT(info["memory"]["used_bytes"].get<uint64_t>(), 0u);
  EXPECT_LT(info["memory"]["used_bytes"].get<uint64_t>(), info["memory"]["total_bytes"].get<uint64_t>());
  EXPECT_EQ(info["disk"]["formatted"], true);
  EXPECT_EQ(info["network"]["method"], "dhcp");
  EXPECT_EQ(info["network"]["address"], "10.0.2.15/24");
  bool data_mounted = false, share_mounted = false;
  for (const auto& m : info["mounts"]) {
    data_mounted = data_mounted || (m["target"] == "/var/lib/berth" && m["type"] == "ext4");
    share_mounted = share_mounted || (m["target"] == share && m["type"] == "virtiofs");
  }
  EXPECT_TRUE(data_mounted) << info["mounts"].dump();
  EXPECT_TRUE(share_mounted) << info["mounts"].dump();
  std::cout << "guest memory in use at idle: " << (info["memory"]["used_bytes"].get<uint64_t>() >> 20) << " MiB of "
            << (info["memory"]["total_bytes"].get<uint64_t>() >> 20) << " MiB\n";

  // An events stream sees the shutdown; then the VM turns itself off, unmounting first.
  std::string events;
  std::thread stream([&] {
    if (auto e = vm.request(protocol::kControlPort, "GET", "/berth/v1/events", "", 120s)) events = e->body;
  });
  std::this_thread::sleep_for(1s);
  shutdown_via_api(vm);
  stream.join();
  EXPECT_NE(events.find(R"("type":"shutdown")"), std::string::npos) << events;
  console = vm.console();
  EXPECT_NE(console.find("unmounted " + share), std::string::npos) << console;
  EXPECT_NE(console.find("unmounted /var/lib/berth"), std::string::npos) << console;
  EXPECT_NE(console.find("reboot: Power down"), std::string::npos) << console;
  EXPECT_EQ(console.find("Kernel panic"), std::string::npos) << console;
}

// ext4 superblock state as the host sees the image: cleanly unmounted, nothing to replay.
bool disk_is_clean(const std::string& disk) {
  std::ifstream in(disk, std::ios::binary);
  unsigned char sb[1024];
  in.seekg(1024);
  in.read(reinterpret_cast<char*>(sb), sizeof sb);
  uint16_t magic = static_cast<uint16_t>(sb[56] | sb[57] << 8), state = static_cast<uint16_t>(sb[58] | sb[59] << 8);
  uint32_t incompat = sb[96] | sb[97] << 8 | sb[98] << 16 | static_cast<uint32_t>(sb[99]) << 24;
  return magic == 0xEF53 && (state & 1) && !(state & 2) && !(incompat & 0x4);
}

TEST_F(AgentVm, DataDiskSurvivesShutdownAndPowerLoss) {
  std::string disk = make_disk(dir_, "disk.img", 128u << 20);

  {  // First boot: format, write, clean shutdown by SIGTERM to PID 1 (`kill 1` inside).
    GuestVm vm(dir_ / "boot1");
    ASSERT_NO_FATAL_FAILURE(boot(vm, config_of(disk, "berth.debug=1")));
    EXPECT_TRUE(vm.console_has("formatting it ext4"));
    auto r = vm.sh("echo one > /var/lib/berth/marker1");
    EXPECT_EQ(r["exit_code"], 0) << out_of(r);
    vm.sh("kill -TERM 1");
    auto status = vm.wait_exit(kExitTimeout);
    ASSERT_TRUE(status) << "QEMU did not exit after SIGTERM to PID 1; console:\n" << vm.console();
    EXPECT_EQ(*status, 0);
    EXPECT_TRUE(vm.console_has("shutting down: Terminated (signal 15")) << vm.console();
    EXPECT_TRUE(disk_is_clean(disk)) << "the disk was not unmounted cleanly:\n" << vm.console();
  }
  {  // Second boot: no format, no fsck, data there; a static address; then the power cord.
    GuestVm vm(dir_ / "boot2");
    ASSERT_NO_FATAL_FAILURE(boot(vm, config_of(disk, "berth.debug=1 berth.ip=10.0.2.15/24,10.0.2.2,10.0.2.3")));
    std::string console = vm.console();
    EXPECT_EQ(console.find("formatting"), std::string::npos) << console;
    EXPECT_EQ(console.find("e2fsck"), std::string::npos) << console;
    EXPECT_NE(console.find("data disk /dev/vda (ext4) mounted at /var/lib/berth"), std::string::npos) << console;
    EXPECT_EQ(vm.sh("cat /var/lib/berth/marker1").value("stdout", ""), "one\n");
    auto info = vm.request(protocol::kControlPort, "GET", "/berth/v1/info");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->json()["network"]["method"], "static");
    EXPECT_EQ(info->json()["network"]["gateway"], "10.0.2.2");
    auto r = vm.sh("echo two > /var/lib/berth/marker2 && sync");
    EXPECT_EQ(r["exit_code"], 0) << out_of(r);
    vm.kill_hard();
    EXPECT_FALSE(disk_is_clean(disk)) << "a mounted ext4 has a journal to replay";
  }
  {  // Third boot: e2fsck replays the journal, both files survive; the power button ends it.
    GuestVm vm(dir_ / "boot3");
    ASSERT_NO_FATAL_FAILURE(boot(vm, config_of(disk, "berth.debug=1")));
    std::string console = vm.console();
    EXPECT_NE(console.find("was not unmounted cleanly; running e2fsck -p"), std::string::npos) << console;
    EXPECT_EQ(vm.sh("cat /var/lib/berth/marker1 /var/lib/berth/marker2").value("stdout", ""), "one\ntwo\n");
    ASSERT_TRUE(vm.powerdown());
    auto status = vm.wait_exit(kExitTimeout);
    ASSERT_TRUE(status) << "QEMU did not exit after the ACPI power button; console:\n" << vm.console();
    EXPECT_EQ(*status, 0);
    console = vm.console();
    EXPECT_NE(console.find("shutting down: ACPI power button"), std::string::npos) << console;
    EXPECT_NE(console.find("unmounted /var/lib/berth"), std::string::npos) << console;
    EXPECT_TRUE(disk_is_clean(disk));
  }
}

TEST_F(AgentVm, ForeignDiskIsRefusedNotFormatted) {
  std::string disk = make_disk(dir_, "disk.img", 64u << 20);
  {  // An XFS superblock's magic and some data: someone's file system, not berth's.
    std::fstream f(disk, std::ios::in | std::ios::out | std::ios::binary);
    f.write("XFSB", 4);
    f.seekp(8192);
    f.write("precious data", 13);
  }
  std::string before = slurp(disk);

  GuestVm vm(dir_ / "vm");
  std::string why;
  ASSERT_TRUE(vm.start(config_of(disk, "berth.debug=1"), why)) << why;
  ASSERT_TRUE(vm.console_has("starting a shell on the console", kBootTimeout)) << vm.console();
  std::string console = vm.console();
  EXPECT_NE(console.find("data disk: /dev/vda holds XFS file system, not an ext4 file system; refusing to format it"),
            std::string::npos) << console;
  EXPECT_EQ(console.find("Kernel panic"), std::string::npos) << console;
  EXPECT_FALSE(vm.request(protocol::kControlPort, "GET", "/berth/v1/ready", "", 5s))
      << "a VM without its data disk must not claim to be ready";
  vm.kill_hard();
  EXPECT_TRUE(slurp(disk) == before) << "the foreign disk was modified";
}

// The arm64 image (ninja guest-image-arm64: berth cross-compiled, Debian's arm64 cloud
// kernel) under qemu-system-aarch64 -M virt, virtio-pci devices instead of microvm's MMIO:
// boots to ready on the control API and turns itself off when asked to.
class AgentVmArm64 : public AgentVm {
 protected:
  void SetUp() override {
    const auto& img = arm64_guest_image();
    if (!img.skip.empty()) GTEST_SKIP() << img.skip;
  }
};

TEST_F(AgentVmArm64, BootsToReadyAndShutsDownViaApi) {
  GuestVm vm(dir_ / "vm");
  VmConfig config = config_of(make_disk(dir_, "disk.img", 256u << 20), "berth.time=" + std::to_string(host_now_s()));
  config.arch = "arm64";
  auto start = std::chrono::steady_clock::now();
  json ready;
  ASSERT_NO_FATAL_FAILURE(boot(vm, config, &ready));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ready["ready"], true);
  EXPECT_EQ(ready["protocol"], protocol::kProtocolVersion);
  EXPECT_EQ(ready["version"], kVersion);
  std::cout << "arm64: QEMU start to ready " << seconds << " s under TCG; boot timeline (ms since kernel start): "
            << ready["boot"].dump() << "\n";

  auto info = vm.request(protocol::kControlPort, "GET", "/berth/v1/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->json()["kernel"]["machine"], "aarch64") << info->body;
  EXPECT_NE(vm.console().find("/dev/vda: blank (256 MiB), formatting it ext4"), std::string::npos) << vm.console();

  ASSERT_NO_FATAL_FAILURE(shutdown_via_api(vm));
  EXPECT_TRUE(vm.console_has("reboot: Power down")) << vm.console();
}

}  // namespace
}  // namespace berth::test::agent
