#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>
#include <set>

#include "image/digest.h"
#include "image/safe_fs.h"
#include "image/unpack.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

using testing::TarCompression;
using testing::TarEntry;
using testing::TempDir;

bool is_root() { return ::geteuid() == 0; }

Result<UnpackResult> apply_tar(const std::string& tar, const std::string& root, UnpackOptions options = {}) {
  UniqueFd layer(testing::memfd_with(tar));
  auto rootfd = safefs::open_dir_path(root);
  if (!rootfd) return tl::unexpected(rootfd.error());
  return apply_layer(layer.get(), rootfd->get(), options);
}

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

TEST(Unpack, AppliesFilesDirsLinksModesAndTimes) {
  TempDir dir;
  std::vector<TarEntry> entries = {
      TarEntry::dir("./", 0751),
      TarEntry::dir("bin"),
      TarEntry::file("bin/tool", "#!/bin/sh\necho hi\n", 04755),
      TarEntry::symlink("bin/sh", "tool"),
      TarEntry::symlink("abs", "/etc/hostname"),
      TarEntry::hardlink_to("bin/tool2", "bin/tool"),
      TarEntry::file("etc/implied/parent", "x"),
      TarEntry::dir("data", 0700),
      TarEntry::file("data/big", std::string(300000, 'z'), 0600),
  };
  entries[1].mtime = 1600000000;  // bin: must survive its children being written
  entries[7].mtime = 1500000000;
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.type = AE_IFIFO;
  fifo.perm = 0620;
  entries.push_back(fifo);
  TarEntry xattr = TarEntry::file("xattr-file", "x");
  xattr.xattrs["user.berth.test"] = "value";
  xattr.xattrs["trusted.overlay.opaque"] = "y";  // forged by the layer: must be dropped
  entries.push_back(xattr);
  if (is_root()) {
    TarEntry owned = TarEntry::file("owned", "o", 02755);
    owned.uid = 1234;
    owned.gid = 5678;
    entries.push_back(owned);
    TarEntry dev;
    dev.path = "dev/null";
    dev.type = AE_IFCHR;
    dev.rdev_major = 1;
    dev.rdev_minor = 3;
    dev.perm = 0666;
    entries.push_back(dev);
  }
  std::string tar = testing::build_tar(entries);
  auto r = apply_tar(tar, dir.path());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->diff_id, sha256_digest(tar));
  EXPECT_EQ(r->diff_size, tar.size());

  EXPECT_EQ(lstat_of(dir.path()).st_mode & 07777, 0751u);
  EXPECT_EQ(testing::read_file(dir / "bin/tool"), "#!/bin/sh\necho hi\n");
  auto tool = lstat_of(dir / "bin/tool");
  EXPECT_EQ(tool.st_mode & 07777, 04755u);
  EXPECT_EQ(tool.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(lstat_of(dir / "bin").st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(lstat_of(dir / "data").st_mtim.tv_sec, 1500000000);
  EXPECT_EQ(lstat_of(dir / "data").st_mode & 07777, 0700u);
  EXPECT_TRUE(S_ISLNK(lstat_of(dir / "bin/sh").st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(dir / "abs"), "/etc/hostname");
  EXPECT_EQ(lstat_of(dir / "bin/tool2").st_ino, tool.st_ino);
  EXPECT_EQ(testing::read_file(dir / "etc/implied/parent"), "x");
  EXPECT_EQ(lstat_of(dir / "etc/implied").st_mode & 07777, 0755u);
  EXPECT_EQ(testing::read_file(dir / "data/big")->size(), 300000u);
  auto f = lstat_of(dir / "run/fifo");
  EXPECT_TRUE(S_ISFIFO(f.st_mode));
  EXPECT_EQ(f.st_mode & 07777, 0620u);
  char value[16] = {};
  ssize_t n = ::getxattr((dir / "xattr-file").c_str(), "user.berth.test", value, sizeof value);
  if (n < 0 && errno == ENOTSUP) {
    std::cerr << "note: file system lacks user xattrs; xattr check skipped\n";
  } else {
    EXPECT_EQ(std::string(value, static_cast<size_t>(std::max<ssize_t>(n, 0))), "value");
  }
  if (is_root()) {
    EXPECT_LT(::getxattr((dir / "xattr-file").c_str(), "trusted.overlay.opaque", value, sizeof value), 0)
        << "a layer must not be able to set overlay's own xattrs";
    auto owned = lstat_of(dir / "owned");
    EXPECT_EQ(owned.st_uid, 1234u);
    EXPECT_EQ(owned.st_gid, 5678u);
    EXPECT_EQ(owned.st_mode & 07777, 02755u) << "set-gid must survive chown";
    auto dev = lstat_of(dir / "dev/null");
    EXPECT_TRUE(S_ISCHR(dev.st_mode));
    EXPECT_EQ(dev.st_rdev, makedev(1, 3));
  }
}

TEST(Unpack, CompressionIsDetectedByMagicAndDiffIdIsOfTheTar) {
  std::vector<TarEntry> entries = {TarEntry::file("a", "alpha"), TarEntry::dir("d"), TarEntry::file("d/b", "beta")};
  std::string plain = testing::build_tar(entries);
  for (auto c : {TarCompression::none, TarCompression::gzip, TarCompression::zstd}) {
    TempDir dir;
    std::string tar = testing::build_tar(entries, c);
    UnpackOptions opts;
    opts.expected_diff_id = sha256_digest(plain);
    auto r = apply_tar(tar, dir.path(), opts);
    ASSERT_TRUE(r) << static_cast<int>(c) << ": " << r.error().what();
    EXPECT_EQ(r->diff_id, sha256_digest(plain));
    EXPECT_EQ(testing::read_file(dir / "d/b"), "beta");
  }
}

TEST(Unpack, DiffIdMismatchIsAnError) {
  TempDir dir;
  UnpackOptions opts;
  opts.expected_diff_id = sha256_digest("not this layer");
  auto r = apply_tar(testing::build_tar({TarEntry::file("a", "a")}, TarCompression::gzip), dir.path(), opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_NE(r.error().message.find("diff id"), std::string::npos);
}

TEST(Unpack, CorruptStreamsAreRejected) {
  TempDir dir;
  std::string tar = testing::build_tar({TarEntry::file("a", std::string(100000, 'a'))}, TarCompression::gzip);
  tar.resize(tar.size() / 2);
  auto r = apply_tar(tar, dir.path());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument) << r.error().what();
  auto garbage = apply_tar(std::string(4096, '\x7f'), dir.path());
  EXPECT_FALSE(garbage);
}

TEST(Unpack, ReplacesEntriesOfEarlierTarMembers) {
  TempDir dir;
  auto r = apply_tar(testing::build_tar({TarEntry::file("x", "first"), TarEntry::dir("x"), TarEntry::file("x/y", "y"),
                                     TarEntry::file("x", "file again")}),
                 dir.path());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(testing::read_file(dir / "x"), "file again");
}

TEST(Unpack, WhiteoutsBecomeOverlayMarkers) {
  if (!is_root()) GTEST_SKIP() << "whiteout devices need CAP_MKNOD and trusted xattrs need CAP_SYS_ADMIN";
  TempDir dir;
  auto r = apply_tar(testing::build_tar({TarEntry::dir("etc"), TarEntry::file("etc/.wh.gone", ""),
                                     TarEntry::dir("opaque"), TarEntry::file("opaque/.wh..wh..opq", ""),
                                     TarEntry::file("opaque/kept", "k"), TarEntry::file(".wh..wh.plnk", ""),
                                     TarEntry::file("implicit/.wh.old", "")}),
                 dir.path());
  ASSERT_TRUE(r) << r.error().what();
  auto wh = lstat_of(dir / "etc/gone");
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  EXPECT_FALSE(std::filesystem::exists(dir / "etc/.wh.gone"));
  EXPECT_TRUE(S_ISCHR(lstat_of(dir / "implicit/old").st_mode));
  char v[4] = {};
  ASSERT_EQ(::getxattr((dir / "opaque").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(testing::read_file(dir / "opaque/kept"), "k");
  EXPECT_FALSE(std::filesystem::exists(dir / ".wh..wh.plnk"));
  EXPECT_FALSE(std::filesystem::exists(dir / "opaque/.wh..wh..opq"));
}

// ---- hostile layers --------------------------------------------------------------------

class HostileLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mkdir((base_ / "outside").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((base_ / "snap").c_str(), 0755), 0);
    testing::write_file(base_ / "outside/sentinel", "untouched");
  }

  std::string outside() const { return base_ / "outside"; }
  std::string snap() const { return base_ / "snap"; }

  // Everything outside the snapshot exactly as before: names in base/, names in outside/,
  // the sentinel's content.
  void ExpectOutsideUntouched(const std::string& label) {
    std::set<std::string> top, out;
    for (auto& e : std::filesystem::directory_iterator(base_.path())) top.insert(e.path().filename());
    for (auto& e : std::filesystem::directory_iterator(outside())) out.insert(e.path().filename());
    EXPECT_EQ(top, (std::set<std::string>{"outside", "snap"})) << label;
    EXPECT_EQ(out, (std::set<std::string>{"sentinel"})) << label;
    EXPECT_EQ(testing::read_file(outside() + "/sentinel"), "untouched") << label;
    struct stat st {};
    ASSERT_EQ(::lstat((outside() + "/sentinel").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << label << ": sentinel was hard-linked into the layer";
    EXPECT_EQ(st.st_mode & 07777, 0644u) << label;
  }

  void ExpectRefused(const std::string& label, const std::vector<TarEntry>& entries) {
    std::error_code ec;
    std::filesystem::remove_all(snap(), ec);
    ASSERT_EQ(::mkdir(snap().c_str(), 0755), 0);
    auto r = apply_tar(testing::build_tar(entries), snap());
    EXPECT_FALSE(r) << label << ": layer was accepted";
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::invalid_argument) << label << ": " << r.error().what();
    }
    ExpectOutsideUntouched(label);
  }

  TempDir base_;
};

TEST_F(HostileLayer, DotDotEscapes) {
  ExpectRefused("../x", {TarEntry::file("../outside/pwned", "x")});
  ExpectRefused("a/../../x", {TarEntry::dir("a"), TarEntry::file("a/../../outside/pwned", "x")});
  ExpectRefused("dir ..", {TarEntry::dir("..")});
  ExpectRefused("symlink named ..", {TarEntry::symlink("a/..", "/")});
}

TEST_F(HostileLayer, AbsolutePaths) {
  ExpectRefused("/abs into sentinel dir", {TarEntry::file(outside() + "/pwned", "x")});
  ExpectRefused("/etc/x", {TarEntry::file("/etc/berth-unpack-test-should-not-exist", "x")});
  EXPECT_FALSE(std::filesystem::exists("/etc/berth-unpack-test-should-not-exist"));
  ExpectRefused("/ as dir", {TarEntry::dir("/")});
}

TEST_F(HostileLayer, WritesThroughSymlinks) {
  ExpectRefused("evil -> / then evil/file", {TarEntry::symlink("evil", "/"), TarEntry::file("evil" + outside() + "/pwned", "x")});
  ExpectRefused("evil -> outside then evil/file", {TarEntry::symlink("evil", outside()), TarEntry::file("evil/pwned", "x")});
  ExpectRefused("evil -> outside then evil/dir", {TarEntry::symlink("evil", outside()), TarEntry::dir("evil/pwned")});
  ExpectRefused("relative evil -> ../outside", {TarEntry::symlink("evil", "../outside"), TarEntry::file("evil/pwned", "x")});
  ExpectRefused("d -> .. chain", {TarEntry::symlink("d", ".."), TarEntry::symlink("e", "d/.."),
                                  TarEntry::file("e/outside/pwned", "x")});
  ExpectRefused("d -> .. nested", {TarEntry::dir("x"), TarEntry::symlink("x/d", "../.."), TarEntry::file("x/d/outside/pwned", "x")});
  ExpectRefused("whiteout through symlink", {TarEntry::symlink("evil", outside()), TarEntry::file("evil/.wh.sentinel", "")});
  ExpectRefused("opaque through symlink", {TarEntry::symlink("evil", outside()), TarEntry::file("evil/.wh..wh..opq", "")});
}

TEST_F(HostileLayer, HardLinksLeavingTheLayer) {
  ExpectRefused("hardlink to /etc/passwd", {TarEntry::hardlink_to("h", "/etc/passwd")});
  ExpectRefused("hardlink to ../../x", {TarEntry::hardlink_to("h", "../../outside/sentinel")});
  ExpectRefused("hardlink to absolute sentinel", {TarEntry::hardlink_to("h", outside() + "/sentinel")});
  ExpectRefused("hardlink through symlink dir", {TarEntry::symlink("evil", outside()), TarEntry::hardlink_to("h", "evil/sentinel")});
  ExpectRefused("hardlink to missing", {TarEntry::hardlink_to("h", "nothing-here")});
  ExpectRefused("hardlink to root", {TarEntry::hardlink_to("h", ".")});
}

TEST_F(HostileLayer, EntriesNamingTheRoot) {
  ExpectRefused(". as symlink", {TarEntry::symlink(".", outside())});
  ExpectRefused("./ as symlink", {TarEntry::symlink("./", "/")});
  ExpectRefused(". as file", {TarEntry::file(".", "x")});
  ExpectRefused("/ as symlink", {TarEntry::symlink("/", outside())});
}

TEST_F(HostileLayer, WhiteoutsOfDotAndDotDot) {
  ExpectRefused(".wh...", {TarEntry::file(".wh...", "")});
  ExpectRefused("sub/.wh..", {TarEntry::dir("sub"), TarEntry::file("sub/.wh..", "")});
  ExpectRefused(".wh. (empty name)", {TarEntry::file("sub/.wh.", "")});
}

TEST_F(HostileLayer, ReplacingASymlinkNeverWritesThroughIt) {
  // These layers are legitimate: the symlink is replaced, never followed.
  auto r = apply_tar(testing::build_tar({TarEntry::symlink("evil", outside() + "/sentinel"), TarEntry::file("evil", "mine"),
                                     TarEntry::symlink("evdir", outside()), TarEntry::dir("evdir"),
                                     TarEntry::file("evdir/f", "f"), TarEntry::symlink("gone", outside())}),
                 snap());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(testing::read_file(snap() + "/evil"), "mine");
  EXPECT_TRUE(std::filesystem::is_directory(std::filesystem::symlink_status(snap() + "/evdir")));
  ExpectOutsideUntouched("replace symlink");
  if (is_root()) {
    auto wh = apply_tar(testing::build_tar({TarEntry::file(".wh.gone", "")}), snap());
    ASSERT_TRUE(wh) << wh.error().what();
    ExpectOutsideUntouched("whiteout of a symlink to outside");
  }
}

}  // namespace
}  // namespace berth::agent::image
