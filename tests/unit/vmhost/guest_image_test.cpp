#include "image/guest_image.h"

#include <gtest/gtest.h>

#include "berth/common/fs.h"
#include "berth/common/protocol.h"
#include "test_dir.h"

namespace berth::image {
namespace {

using vmhost_test::TestDir;

std::string version_json(uint32_t protocol, const char* arch = "amd64") {
  return "{\"protocol\": " + std::to_string(protocol) + ", \"berth\": \"0.1.0\", \"kernel\": \"6.1.0-56-cloud-amd64\"" +
         ", \"arch\": \"" + arch + "\"}";
}

void make_image(const std::string& dir, uint32_t protocol, bool initrd = true) {
  ASSERT_TRUE(fs::mkdir_p(dir));
  ASSERT_TRUE(fs::write_file(dir + "/VERSION", version_json(protocol)));
  ASSERT_TRUE(fs::write_file(dir + "/vmlinuz", "k"));
  if (initrd) {
    ASSERT_TRUE(fs::write_file(dir + "/initramfs", "i"));
  }
}

TEST(GuestImage, ReadsVersion) {
  auto img = read_version("/d", version_json(protocol::kProtocolVersion), "amd64");
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_EQ(img->protocol, protocol::kProtocolVersion);
  EXPECT_EQ(img->kernel, "/d/vmlinuz");
  EXPECT_EQ(img->initrd, "/d/initramfs");
  EXPECT_EQ(img->kernel_version, "6.1.0-56-cloud-amd64");
}

TEST(GuestImage, RefusesAnotherProtocolWithAClearMessage) {
  auto img = read_version("/d", version_json(protocol::kProtocolVersion + 1), "amd64");
  ASSERT_FALSE(img);
  EXPECT_EQ(img.error().code, Errc::unsupported);
  std::string msg = img.error().what();
  EXPECT_NE(msg.find("protocol " + std::to_string(protocol::kProtocolVersion + 1)), std::string::npos) << msg;
  EXPECT_NE(msg.find("this berth speaks protocol " + std::to_string(protocol::kProtocolVersion)), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("rebuild"), std::string::npos) << msg;
}

TEST(GuestImage, RefusesBadVersionFiles) {
  EXPECT_FALSE(read_version("/d", "not json", "amd64"));
  EXPECT_NE(read_version("/d", "{}", "amd64").error().what().find("protocol"), std::string::npos);
  EXPECT_FALSE(read_version("/d", R"({"protocol":"1"})", "amd64"));
  auto arch = read_version("/d", version_json(protocol::kProtocolVersion, "arm64"), "amd64");
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().what().find("arm64"), std::string::npos);
}

TEST(GuestImage, CandidatesFollowTheSearchOrder) {
  Search s;
  s.executable = "/work/build/vmhost/berth";
  s.arch = "amd64";
  auto c = candidates(s);
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c[0], "/work/build/images/amd64");
  EXPECT_EQ(c[1], "/work/build/share/berth/images/amd64");
  EXPECT_EQ(c.back(), "/usr/share/berth/images/amd64");
  s.executable = "/usr/bin/berth";
  c = candidates(s);
  EXPECT_EQ(c.back(), "/usr/share/berth/images/amd64");
  EXPECT_EQ(std::count(c.begin(), c.end(), "/usr/share/berth/images/amd64"), 1);
  s.env_dir = "/env";
  EXPECT_EQ(candidates(s), std::vector<std::string>{"/env/amd64"});
  s.explicit_dir = "/flag";
  EXPECT_EQ(candidates(s), std::vector<std::string>{"/flag/amd64"});
}

TEST(GuestImage, ExplicitDirectoryMayBeTheArchDirOrItsParent) {
  TestDir dir;
  make_image(dir / "amd64", protocol::kProtocolVersion);
  Search s;
  s.arch = "amd64";
  s.explicit_dir = dir.path();
  auto a = locate(s);
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(a->dir, dir / "amd64");
  s.explicit_dir = dir / "amd64";
  auto b = locate(s);
  ASSERT_TRUE(b) << b.error().what();
  EXPECT_EQ(b->dir, dir / "amd64");
}

TEST(GuestImage, FindsTheBuildTreeImageNextToTheBinary) {
  TestDir dir;
  make_image(dir / "images/amd64", protocol::kProtocolVersion);
  Search s;
  s.arch = "amd64";
  s.executable = dir / "vmhost/berth";
  auto img = locate(s);
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_EQ(img->dir, dir / "images/amd64");
}

TEST(GuestImage, MissingOrIncompleteImagesSayWhatToDo) {
  TestDir dir;
  Search s;
  s.arch = "amd64";
  s.explicit_dir = dir / "nothing";
  auto none = locate(s);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().what().find("does not exist"), std::string::npos) << none.error().what();

  make_image(dir / "floor", protocol::kProtocolVersion, /*initrd=*/false);
  ASSERT_TRUE(fs::write_file(dir / "floor/initramfs-floor", "f"));
  s.explicit_dir = dir / "floor";
  auto floor = locate(s);
  ASSERT_FALSE(floor);
  EXPECT_NE(floor.error().what().find("guest-image"), std::string::npos) << floor.error().what();

  Search search_all;
  search_all.arch = "amd64";
  search_all.executable = dir / "bin/berth";
  auto nowhere = locate(search_all);
  if (!nowhere) {
    EXPECT_NE(nowhere.error().what().find("--image-dir"), std::string::npos) << nowhere.error().what();
  }

  make_image(dir / "old", protocol::kProtocolVersion + 7);
  s.explicit_dir = dir / "old";
  auto old = locate(s);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, Errc::unsupported);
}

}  // namespace
}  // namespace berth::image
