// The guest image (images/build) in a real VM: the boot-time floor powers off by itself;
// the full image, with a stand-in /init (test_init.c), loads every module of
// /etc/berth/modules.load in the listed order, runs its dynamically linked programs, formats
// a data disk; the arm64 floor boots too; and two builds are byte for byte the same.
//
// Artifacts (images, console logs) stay in BERTH_VM_WORK_DIR/<test> for inspection.
#include <sys/utsname.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "berth/common/protocol.h"
#include "berth/common/version.h"
#include "process.h"
#include "qemu.h"

namespace fs = std::filesystem;
using berth::test::CommandResult;

namespace {

constexpr int kBuildTimeoutS = 900;
constexpr int kBootTimeoutS = 60;
constexpr int kExitOffline = 3;  // images/build: Debian packages could not be fetched
constexpr uintmax_t kSizeBudget = 40u << 20;

bool host_is_x86_64() {
  utsname u{};
  return ::uname(&u) == 0 && std::string(u.machine) == "x86_64";
}

class GuestImage : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!host_is_x86_64()) GTEST_SKIP() << "these tests build and boot an amd64 image (x86-64 microvm)";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    work_ = fs::path(BERTH_VM_WORK_DIR) / info->name();
    fs::remove_all(work_);
    fs::create_directories(work_);
  }

  // Runs images/build; a Debian mirror out of reach skips the test rather than failing it.
  // `shell_prefix` runs first in the same shell (e.g. "umask 077;").
  CommandResult build(const fs::path& out, const std::vector<std::string>& args,
                      const std::string& shell_prefix = "", const std::string& arch = "amd64") {
    std::string cmd = shell_prefix + " exec " + quote(BERTH_IMAGES_BUILD) + " --arch " + arch + " --out " +
                      quote(out.string()) + " --cache " + quote(BERTH_IMAGE_CACHE);
    for (const auto& a : args) cmd += " " + quote(a);
    CommandResult r = berth::test::run({"/bin/sh", "-c", cmd + " 2>&1"}, "", kBuildTimeoutS);
    std::cout << r.out;
    return r;
  }

  std::vector<std::string> full_image_args() const {
    return {"--agent", BERTH_VM_TEST_INIT, "--shim", BERTH_VM_SHIM, "--runtime", BERTH_VM_RUNTIME};
  }

  static std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  }

  static std::string qemu_or_empty() { return berth::test::find_program("qemu-system-x86_64"); }

  void save(const std::string& name, const std::string& data) const {
    berth::test::write_file((work_ / name).string(), data);
  }

  fs::path work_;
};

#define BUILD_OR_SKIP(result)                                                                     \
  do {                                                                                            \
    if ((result).status == kExitOffline) GTEST_SKIP() << "Debian packages unavailable: " << (result).out; \
    ASSERT_EQ((result).status, 0) << "images/build failed:\n" << (result).out;                    \
  } while (0)

TEST_F(GuestImage, FloorBootsAndPowersOff) {
  std::string qemu = qemu_or_empty();
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  fs::path out = work_ / "out";
  auto b = build(out, {"--floor"});
  BUILD_OR_SKIP(b);
  ASSERT_TRUE(fs::exists(out / "vmlinuz"));
  ASSERT_TRUE(fs::exists(out / "initramfs-floor"));
  EXPECT_LE(fs::file_size(out / "initramfs-floor"), kSizeBudget);

  berth::test::MicroVm vm;
  vm.kernel = (out / "vmlinuz").string();
  vm.initrd = (out / "initramfs-floor").string();
  vm.cmdline = "quiet";
  auto r = berth::test::run_vm(berth::test::microvm_argv(qemu, vm), kBootTimeoutS);
  save("console.log", r.console);
  EXPECT_TRUE(r.powered_off()) << "status " << r.status << (r.timed_out ? " (timed out)" : "") << "\nconsole:\n"
                               << r.console << "\nqemu:\n" << r.err;
  std::cout << "floor: QEMU start to exit " << r.seconds << " s under TCG\n";
  RecordProperty("floor_boot_seconds", std::to_string(r.seconds));
}

TEST_F(GuestImage, ModulesLoadInOrderAndProgramsRun) {
  std::string qemu = qemu_or_empty();
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
  fs::path out = work_ / "out";
  auto b = build(out, full_image_args());
  BUILD_OR_SKIP(b);
  ASSERT_LE(fs::file_size(out / "initramfs"), kSizeBudget);

  // VERSION names this build's protocol and version.
  std::string version_text = berth::test::read_file((out / "VERSION").string());
  auto version = nlohmann::json::parse(version_text, nullptr, false);
  ASSERT_FALSE(version.is_discarded()) << version_text;
  EXPECT_EQ(version.value("protocol", 0u), berth::protocol::kProtocolVersion);
  EXPECT_EQ(version.value("berth", ""), berth::kVersion);
  EXPECT_EQ(version.value("arch", ""), "amd64");
  EXPECT_FALSE(version.value("kernel", "").empty());

  // A data disk, as the host makes it: sparse, unformatted.
  fs::path disk = work_ / "disk.img";
  { std::ofstream(disk.string()).close(); }
  fs::resize_file(disk, 64u << 20);

  berth::test::MicroVm vm;
  vm.kernel = (out / "vmlinuz").string();
  vm.initrd = (out / "initramfs").string();
  vm.cmdline = "quiet";
  vm.memory_mb = 512;
  vm.disks = {disk.string()};
  auto r = berth::test::run_vm(berth::test::microvm_argv(qemu, vm), 3 * kBootTimeoutS);
  save("console.log", r.console);
  const std::string& c = r.console;
  ASSERT_NE(c.find("BERTH-TEST-READY"), std::string::npos) << "the stand-in /init never ran:\n" << c << r.err;

  // Every module loads, each after its dependencies: finit_module() fails with "Unknown
  // symbol" for a module whose dependencies are not loaded yet.
  std::regex ok_line(R"(BERTH-MODULE OK (\S+))");
  std::vector<std::string> loaded;
  for (std::sregex_iterator it(c.begin(), c.end(), ok_line), end; it != end; ++it) loaded.push_back((*it)[1]);
  EXPECT_EQ(c.find("BERTH-MODULE FAIL"), std::string::npos) << c;
  std::smatch done;
  ASSERT_TRUE(std::regex_search(c, done, std::regex(R"(BERTH-MODULES-DONE ok=(\d+) fail=(\d+))"))) << c;
  EXPECT_EQ(done[2], "0");
  EXPECT_EQ(std::stoul(done[1]), loaded.size());
  for (const char* m : {"/virtio_mmio.ko", "/virtio_blk.ko", "/virtio_net.ko", "/virtio_console.ko",
                        "/vmw_vsock_virtio_transport.ko", "/virtiofs.ko", "/overlay.ko", "/bridge.ko",
                        "/br_netfilter.ko", "/veth.ko", "/nf_tables.ko", "/nft_chain_nat.ko", "/nft_masq.ko"}) {
    bool found = false;
    for (const auto& path : loaded) found = found || path.ends_with(m);
    EXPECT_TRUE(found) << m << " is not in /etc/berth/modules.load";
  }

  // Dynamically linked programs find their libraries and the loader.
  for (const char* cmd : {"/usr/sbin/mke2fs -V", "/usr/sbin/e2fsck -V", "/bin/busybox true",
                          "/usr/bin/berth-runtime --version", "/usr/bin/berth-shim --help"}) {
    EXPECT_NE(c.find(std::string("BERTH-EXEC 0 ") + cmd), std::string::npos) << cmd << " failed:\n" << c;
  }
  EXPECT_NE(c.find("BERTH-CA OK"), std::string::npos);
  EXPECT_NE(c.find("BERTH-DISK OK"), std::string::npos) << "mkfs.ext4 + mount of the data disk:\n" << c;
  std::string guest_version = version_text.substr(0, version_text.find('\n'));
  EXPECT_NE(c.find("BERTH-VERSION " + guest_version), std::string::npos) << "/etc/berth/VERSION differs from VERSION";
  EXPECT_TRUE(r.powered_off()) << "status " << r.status << (r.timed_out ? " (timed out)" : "") << "\n" << c << r.err;
  std::cout << "full image with stand-in init: QEMU start to exit " << r.seconds << " s under TCG\n";
}

// The arm64 floor, built on this (amd64) machine through a private arm64 apt state, boots
// under qemu-system-aarch64 and powers off: the cross-architecture path of images/build.
TEST_F(GuestImage, Arm64FloorBootsAndPowersOff) {
  std::string qemu = berth::test::find_program("qemu-system-aarch64");
  if (qemu.empty()) GTEST_SKIP() << "qemu-system-aarch64 is not installed (Debian: qemu-system-arm)";
  fs::path out = work_ / "out";
  auto b = build(out, {"--floor"}, "", "arm64");
  BUILD_OR_SKIP(b);
  ASSERT_TRUE(fs::exists(out / "Image")) << "arm64 builds write the uncompressed Image";
  auto r = berth::test::run_vm({qemu, "-M", "virt,accel=tcg", "-cpu", "cortex-a72", "-m", "256", "-nodefaults",
                                "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio", "-kernel",
                                (out / "Image").string(), "-initrd", (out / "initramfs-floor").string(), "-append",
                                "console=ttyAMA0 panic=-1 quiet"},
                               2 * kBootTimeoutS);
  save("console.log", r.console);
  EXPECT_TRUE(r.powered_off()) << "status " << r.status << (r.timed_out ? " (timed out)" : "") << "\nconsole:\n"
                               << r.console << "\nqemu:\n" << r.err;
  std::cout << "arm64 floor: QEMU start to exit " << r.seconds << " s under TCG\n";
}

TEST_F(GuestImage, BuildIsReproducible) {
  fs::path a = work_ / "a", b = work_ / "b";
  auto first = build(a, full_image_args());
  BUILD_OR_SKIP(first);
  // Different temporary directory and umask: neither may leak into the archive.
  fs::create_directories(work_ / "tmp");
  auto second = build(b, full_image_args(), "umask 077; TMPDIR=" + quote((work_ / "tmp").string()) + "; export TMPDIR;");
  BUILD_OR_SKIP(second);
  std::string image_a = berth::test::read_file((a / "initramfs").string());
  std::string image_b = berth::test::read_file((b / "initramfs").string());
  ASSERT_FALSE(image_a.empty());
  EXPECT_TRUE(image_a == image_b) << "initramfs differs between two builds (" << image_a.size() << " vs "
                                  << image_b.size() << " bytes); compare the two with: diff <(lz4 -dc " << (a / "initramfs")
                                  << " | cpio -itv) <(lz4 -dc " << (b / "initramfs") << " | cpio -itv)";
  EXPECT_EQ(berth::test::read_file((a / "VERSION").string()), berth::test::read_file((b / "VERSION").string()));
}

}  // namespace
