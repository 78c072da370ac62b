#include "instance/mounts.h"

#include <gtest/gtest.h>

#include "berth/common/fs.h"
#include "test_dir.h"

namespace berth::instance {
namespace {

TEST(Mounts, ParsesModesAndNormalizes) {
  EXPECT_EQ(parse_mount("/home/u", "/").value(), (Mount{"/home/u", true}));
  EXPECT_EQ(parse_mount("/home/u:rw", "/").value(), (Mount{"/home/u", true}));
  EXPECT_EQ(parse_mount("/data:ro", "/").value(), (Mount{"/data", false}));
  EXPECT_EQ(parse_mount("/a/./b/../c/", "/").value(), (Mount{"/a/c", true}));
  EXPECT_EQ(parse_mount("src:ro", "/work").value(), (Mount{"/work/src", false}));
  // Only a trailing ":ro"/":rw" is a mode; other colons belong to the path.
  EXPECT_EQ(parse_mount("/a:b", "/").value(), (Mount{"/a:b", true}));
  EXPECT_EQ(format_mount({"/data", false}), "/data:ro");
  // Spaces are fine: the kernel command line quotes them (spec_builder_test).
  EXPECT_EQ(parse_mount("/Users/u/My Projects:ro", "/").value(), (Mount{"/Users/u/My Projects", false}));
}

TEST(Mounts, RejectsWhatTheKernelCommandLineCannotCarry) {
  for (const char* bad : {"", ":ro", "/", "/tab\there", "/quote\"", "/back\\slash", "/new\nline"}) {
    auto r = parse_mount(bad, "/");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find("--mount"), std::string::npos);
  }
}

TEST(Mounts, SourceMustBeAnExistingDirectory) {
  vmhost_test::TestDir dir;
  EXPECT_TRUE(check_mount_source({dir.path(), true}));
  auto missing = check_mount_source({dir / "nope", true});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().what().find("does not exist"), std::string::npos);
  ASSERT_TRUE(fs::write_file(dir / "file", "x"));
  auto file = check_mount_source({dir / "file", true});
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().what().find("not a directory"), std::string::npos);
}

TEST(Mounts, DuplicatesAreRejected) {
  EXPECT_TRUE(check_mount_list({{"/a", true}, {"/a/b", true}}));
  EXPECT_FALSE(check_mount_list({{"/a", true}, {"/a", false}}));
}

}  // namespace
}  // namespace berth::instance
