// Container rootfs assembly from snapshot directories (no registry): overlay with many layers,
// whiteouts honoured by overlayfs, the copy fallback, unmount and removal.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>

#include "image/digest.h"
#include "image/rootfs.h"
#include "process.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (mounts, whiteout devices)";
    root_ = berth::test::make_temp_dir("berth-rootfs-it");
  }
  void TearDown() override {
    for (const char* id : {"many", "wh", "wh-copy", "gated"}) ::umount2((root_ + "/containers/" + id + "/rootfs").c_str(), MNT_DETACH);
    if (!root_.empty()) berth::test::remove_tree(root_);
  }
  // A snapshot-shaped directory: <root>/snapshots/<64 hex>/fs.
  std::string layer(int i) {
    std::string dir = root_ + "/snapshots/" + std::string(digest_hex(sha256_digest(std::to_string(i)))) + "/fs";
    std::filesystem::create_directories(dir);
    return dir;
  }
  std::string root_;
};

TEST_F(RootfsTest, OverlayWithMoreLayersThanOnePageOfOptions) {
  if (!overlay_available()) GTEST_SKIP() << "kernel without overlayfs";
  std::vector<std::string> layers;
  for (int i = 0; i < 120; ++i) {
    layers.push_back(layer(i));
    testing::write_file(layers.back() + "/f" + std::to_string(i), "x");
    testing::write_file(layers.back() + "/top", std::to_string(i));
  }
  auto r = mount_rootfs(root_, "many", layers);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->mode, RootfsMode::overlay);
  EXPECT_EQ(testing::read_file(r->path + "/top"), "119") << "the last layer is on top";
  for (int i = 0; i < 120; ++i) EXPECT_TRUE(std::filesystem::exists(r->path + "/f" + std::to_string(i))) << i;
  ASSERT_TRUE(r->remove());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/containers/many"));
  EXPECT_TRUE(std::filesystem::exists(layers[0] + "/f0")) << "removing a container never touches snapshots";
}

TEST_F(RootfsTest, WhiteoutsAndOpaqueDirsInOverlayAndCopy) {
  std::string l0 = layer(0), l1 = layer(1);
  std::filesystem::create_directories(l0 + "/d");
  testing::write_file(l0 + "/gone", "g");
  testing::write_file(l0 + "/d/old", "o");
  testing::write_file(l0 + "/kept", "k");
  ASSERT_EQ(::mknod((l1 + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  std::filesystem::create_directories(l1 + "/d");
  ASSERT_EQ(::setxattr((l1 + "/d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  testing::write_file(l1 + "/d/new", "n");
  auto check = [&](const Rootfs& r, const std::string& label) {
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(r.path + "/gone"))) << label;
    EXPECT_EQ(testing::read_file(r.path + "/kept"), "k") << label;
    EXPECT_FALSE(std::filesystem::exists(r.path + "/d/old")) << label;
    EXPECT_EQ(testing::read_file(r.path + "/d/new"), "n") << label;
  };
  if (overlay_available()) {
    auto r = mount_rootfs(root_, "wh", {l0, l1});
    ASSERT_TRUE(r) << r.error().what();
    check(*r, "overlay");
    ASSERT_TRUE(r->unmount());
    auto reopened = open_rootfs(root_, "wh");
    ASSERT_TRUE(reopened);
    ASSERT_TRUE(reopened->remove());
  }
  RootfsOptions copy;
  copy.force_copy = true;
  auto c = mount_rootfs(root_, "wh-copy", {l0, l1}, copy);
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->mode, RootfsMode::copy);
  check(*c, "copy");
  char v[2];
  EXPECT_LT(::getxattr((c->path + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0)
      << "overlay markers are not copied into a flat rootfs";
  ASSERT_TRUE(c->remove());
}

// In the VM the overlay module may load after the Docker API is up: the gate runs before
// mount_rootfs records overlay-or-copy, so the choice sees the module.
TEST_F(RootfsTest, WaitsForTheGateBeforeChoosingOverlayOrCopy) {
  int calls = 0;
  bool record_existed = true;
  set_rootfs_gate([&] {
    ++calls;
    record_existed = std::filesystem::exists(root_ + "/containers/gated/rootfs.json");
  });
  auto r = mount_rootfs(root_, "gated", {layer(0)});
  set_rootfs_gate(nullptr);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(record_existed) << "the gate ran after overlay-or-copy was decided";
  EXPECT_TRUE(r->remove());
}

TEST_F(RootfsTest, RejectsBadContainerIds) {
  for (const char* id : {"", "..", "a/b", "../../etc"}) {
    auto r = mount_rootfs(root_, id, {});
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
  EXPECT_FALSE(std::filesystem::exists(root_ + "/containers"));
}

}  // namespace
}  // namespace berth::agent::image
