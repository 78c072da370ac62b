// The `berth` binary's answers to bad input, none of which needs a VM: each is one line
// on stderr saying what is wrong and what to do, with exit status 1, and no instance
// directory left behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "berth/common/fs.h"
#include "berth/common/protocol.h"
#include "process.h"
#include "test_dir.h"

namespace {

using berth::test::CommandResult;
using berth::vmhost_test::TestDir;
namespace fs = std::filesystem;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "home");
    fs::create_directories(dir_ / "image");
    write_image(berth::protocol::kProtocolVersion);
  }

  void write_image(uint32_t protocol) {
    ASSERT_TRUE(berth::fs::write_file(dir_ / "image/VERSION",
                                      "{\"protocol\": " + std::to_string(protocol) + ", \"arch\": \"amd64\"}"));
    ASSERT_TRUE(berth::fs::write_file(dir_ / "image/vmlinuz", "not a kernel"));
    ASSERT_TRUE(berth::fs::write_file(dir_ / "image/initramfs", "not an initramfs"));
  }

  CommandResult berth(std::vector<std::string> args, const std::string& path = "/usr/bin:/bin") {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "BERTH_HOME=" + dir_ / "berth",
                                     "HOME=" + dir_ / "home",
                                     "BERTH_IMAGE_DIR=" + image_dir_,
                                     "PATH=" + path,
                                     BERTH_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return berth::test::run(argv, "", 30);
  }

  // One line, "berth: VERB: ...", containing `needle`; nothing created for `name`.
  void expect_clean_failure(const CommandResult& r, const std::string& verb, const std::string& needle,
                            const std::string& name = "default") {
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err.rfind("berth: " + verb + ": ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / ("berth/" + name))) << "half-created instance left behind";
  }

  TestDir dir_;
  std::string image_dir_ = dir_ / "image";
};

TEST_F(Cli, MissingGuestImage) {
  image_dir_ = dir_ / "no-such-image";
  expect_clean_failure(berth({"start"}), "start", "does not exist");
}

TEST_F(Cli, GuestImageOfAnotherProtocol) {
  write_image(berth::protocol::kProtocolVersion + 1);
  expect_clean_failure(berth({"start"}), "start", "protocol");
}

TEST_F(Cli, MountThatDoesNotExist) {
  expect_clean_failure(berth({"start", "--mount", dir_ / "nope"}), "start", dir_ / "nope");
}

TEST_F(Cli, NamesWithSlashOrDotDot) {
  expect_clean_failure(berth({"start", "a/b"}), "start", "'/'", "a");
  expect_clean_failure(berth({"start", ".."}), "start", "'..'", "..");
  EXPECT_FALSE(fs::exists(dir_ / "berth"));
}

TEST_F(Cli, UnparseableSizes) {
  expect_clean_failure(berth({"start", "--memory", "2X"}), "start", "\"2X\"");
  expect_clean_failure(berth({"start", "--memory", "64"}), "start", "memory");
  expect_clean_failure(berth({"start", "--disk", "lots"}), "start", "\"lots\"");
  expect_clean_failure(berth({"start", "--cpus", "0"}), "start", "--cpus");
}

TEST_F(Cli, QemuNotInstalled) {
  auto r = berth({"start", "--mount", dir_ / "home"}, dir_ / "empty-path");
  expect_clean_failure(r, "start", "qemu-system-x86_64 is not installed");
  EXPECT_NE(r.err.find("apt install"), std::string::npos) << r.err;
}

TEST_F(Cli, VzIsMacOnly) { expect_clean_failure(berth({"start", "--vm-type", "vz"}), "start", "macOS"); }

TEST_F(Cli, UnknownArch) { expect_clean_failure(berth({"start", "--arch", "mips"}), "start", "--arch"); }

TEST_F(Cli, VerbsOnAMissingInstance) {
  expect_clean_failure(berth({"status", "ghost"}), "status", "does not exist", "ghost");
  expect_clean_failure(berth({"stop", "ghost"}), "stop", "does not exist", "ghost");
  expect_clean_failure(berth({"delete", "ghost"}), "delete", "does not exist", "ghost");
  expect_clean_failure(berth({"logs", "ghost"}), "logs", "does not exist", "ghost");
  expect_clean_failure(berth({"docker-env", "ghost"}), "docker-env", "does not exist", "ghost");
}

TEST_F(Cli, StoppedInstanceIsListedAndDescribed) {
  fs::create_directories(dir_ / "berth/dev");
  ASSERT_TRUE(berth::fs::write_file(dir_ / "berth/dev/config.json",
                                    R"({"name":"dev","arch":"amd64","cpus":3,"memory":"1GiB","disk":"8GiB"})"));
  auto list = berth({"list"});
  EXPECT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find("NAME"), std::string::npos);
  EXPECT_NE(list.out.find("dev"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("stopped"), std::string::npos) << list.out;
  auto json = berth({"list", "--json"});
  EXPECT_EQ(json.status, 0);
  EXPECT_NE(json.out.find("\"memory\": 1073741824"), std::string::npos) << json.out;
  auto status = berth({"status", "dev", "--json"});
  EXPECT_EQ(status.status, 0) << status.err;
  EXPECT_NE(status.out.find("\"status\": \"stopped\""), std::string::npos) << status.out;
  auto env = berth({"docker-env", "dev"});
  EXPECT_EQ(env.status, 0);
  EXPECT_EQ(env.out, "export DOCKER_HOST=unix://" + dir_ / "berth/dev/docker.sock" + "\n");
  auto stop = berth({"stop", "dev"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  EXPECT_NE(stop.err.find("not running"), std::string::npos);
  auto del = berth({"delete", "dev"});
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_FALSE(fs::exists(dir_ / "berth/dev"));
}

TEST_F(Cli, BrokenConfigIsNamed) {
  fs::create_directories(dir_ / "berth/dev");
  ASSERT_TRUE(berth::fs::write_file(dir_ / "berth/dev/config.json", R"({"name":"dev","memory":"much"})"));
  auto r = berth({"start", "dev"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("memory"), std::string::npos) << r.err;
  // The existing instance's files are left alone.
  EXPECT_TRUE(fs::exists(dir_ / "berth/dev/config.json"));
}

TEST_F(Cli, Version) {
  auto r = berth({"version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("protocol " + std::to_string(berth::protocol::kProtocolVersion)), std::string::npos) << r.out;
}

}  // namespace
