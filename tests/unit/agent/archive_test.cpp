// docker cp's building blocks: path stat (Go file modes, the header), tar out and in, and
// that paths and entries stay inside the container's root.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/common/unique_fd.h"
#include "core/container_archive.h"
#include "process.h"

namespace berth::agent {
namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("berth-archive");
    root_ = dir_ + "/root";
    test::sh("mkdir -p " + root_ + "/etc/sub " + root_ + "/data && echo secret-host > " + dir_ + "/outside && echo hello > " +
             root_ + "/etc/hostname && echo deep > " + root_ + "/etc/sub/f && chmod 640 " + root_ + "/etc/hostname && ln -s /etc/hostname " +
             root_ + "/link && ln -s ../../outside " + root_ + "/data/escape && ln -s ../../.. " + root_ + "/data/up");
    fd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd_);
  }
  void TearDown() override { test::remove_tree(dir_); }
  std::string tar_of(const std::string& path) {
    std::string out;
    auto st = write_path_tar(fd_.get(), path, [&](const void* d, size_t n) {
      out.append(static_cast<const char*>(d), n);
      return ok();
    });
    EXPECT_TRUE(st) << (st ? "" : st.error().what());
    return out;
  }
  std::string list(const std::string& tar) {
    test::write_file(dir_ + "/t.tar", tar);
    return test::sh("tar tf " + dir_ + "/t.tar | sort").out;
  }
  Status extract(const std::string& tar, const std::string& dest, ExtractOptions o = {}) {
    size_t pos = 0;
    return extract_tar(fd_.get(), dest,
                       [&](void* buf, size_t n) -> Result<size_t> {
                         size_t k = std::min(n, tar.size() - pos);
                         std::memcpy(buf, tar.data() + pos, k);
                         pos += k;
                         return k;
                       },
                       o);
  }
  std::string dir_, root_;
  UniqueFd fd_;
};

TEST_F(ArchiveTest, StatGivesGoModes) {
  auto f = stat_in_root(fd_.get(), "/etc/hostname");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->name, "hostname");
  EXPECT_EQ(f->size, 6);
  EXPECT_EQ(f->mode, 0640u);
  auto d = stat_in_root(fd_.get(), "/etc");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->mode & (1u << 31), 1u << 31);
  auto l = stat_in_root(fd_.get(), "/link");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->mode & (1u << 27), 1u << 27);
  EXPECT_EQ(l->link_target, "/etc/hostname");
  auto missing = stat_in_root(fd_.get(), "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto dot = stat_in_root(fd_.get(), "/etc/.");
  ASSERT_TRUE(dot);
  EXPECT_EQ(dot->name, ".");
  // The header is base64 JSON.
  auto h = path_stat_header(*f);
  auto decoded = test::sh("echo " + h + " | base64 -d").out;
  auto j = Json::parse(decoded);
  EXPECT_EQ(j["name"], "hostname");
  EXPECT_EQ(j["mode"], 0640);
  EXPECT_TRUE(j.contains("mtime"));
  EXPECT_TRUE(j.contains("linkTarget"));
  EXPECT_EQ(base64_encode("ab"), "YWI=");
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_EQ(base64_encode("a"), "YQ==");
}

TEST_F(ArchiveTest, PathsResolveInsideTheRoot) {
  // Symlinks pointing out of the root resolve inside it, as in a chroot: ../../.. is the root,
  // and ../../outside is /outside, which the root does not have.
  EXPECT_FALSE(stat_in_root(fd_.get(), "/data/up/outside"));
  auto in_root = stat_in_root(fd_.get(), "/data/up/etc/hostname");
  ASSERT_TRUE(in_root);
  EXPECT_EQ(in_root->size, 6);
  EXPECT_FALSE(stat_in_root(fd_.get(), "/data/escape/x"));
  EXPECT_EQ(list(tar_of("/data/up/etc/sub")), "sub/\nsub/f\n");
  auto dots = stat_in_root(fd_.get(), "/../../etc/hostname");
  ASSERT_TRUE(dots);
  EXPECT_EQ(dots->size, 6);
}

TEST_F(ArchiveTest, TarsFilesDirectoriesAndContents) {
  EXPECT_EQ(list(tar_of("/etc/hostname")), "hostname\n");
  EXPECT_EQ(list(tar_of("/etc")), "etc/\netc/hostname\netc/sub/\netc/sub/f\n");
  EXPECT_EQ(list(tar_of("/etc/.")), "./\n./hostname\n./sub/\n./sub/f\n");
  EXPECT_EQ(list(tar_of("/link")), "link\n");  // the link itself
}

TEST_F(ArchiveTest, ExtractsIntoADirectory) {
  auto t = tar_of("/etc");
  ASSERT_TRUE(extract(t, "/data"));
  EXPECT_EQ(test::read_file(root_ + "/data/etc/sub/f"), "deep\n");
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/data/etc/hostname").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // Into a missing directory: not found; into a file: not a directory.
  auto missing = extract(t, "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto notdir = extract(t, "/etc/hostname");
  ASSERT_FALSE(notdir);
  EXPECT_EQ(notdir.error().code, Errc::invalid_argument);
}

TEST_F(ArchiveTest, NoOverwriteDirNonDir) {
  // A file named "sub" replacing the directory etc/sub.
  test::sh("mkdir -p " + dir_ + "/src/etc && echo f > " + dir_ + "/src/etc/sub && tar cf " + dir_ + "/x.tar -C " + dir_ + "/src etc");
  auto tar = test::read_file(dir_ + "/x.tar");
  ExtractOptions o;
  o.no_overwrite_dir_non_dir = true;
  auto st = extract(tar, "/", o);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot overwrite directory"), std::string::npos);
}

TEST_F(ArchiveTest, RefusesEntriesLeavingTheTarget) {
  // GNU tar keeps ".." in member names with -P (and says it removes it, listing).
  test::sh("mkdir -p " + dir_ + "/evil && cd " + dir_ + "/evil && echo pwned > x && tar cPf " + dir_ + "/evil.tar ../evil/x");
  auto tar = test::read_file(dir_ + "/evil.tar");
  auto st = extract(tar, "/data");
  EXPECT_FALSE(st);
  EXPECT_FALSE(test::path_exists(root_ + "/evil/x"));
  // A symlink in the container pointing outside is replaced by the archive's directory, never
  // followed.
  test::sh("mkdir -p " + dir_ + "/s2/escape && echo x > " + dir_ + "/s2/escape/owned && tar cf " + dir_ + "/s2.tar -C " + dir_ + "/s2 escape");
  auto st2 = extract(test::read_file(dir_ + "/s2.tar"), "/data");
  EXPECT_TRUE(st2);
  EXPECT_EQ(test::read_file(root_ + "/data/escape/owned"), "x\n");
  EXPECT_FALSE(test::path_exists(dir_ + "/owned"));
  // An entry below a symlink (without the directory entry first) is refused.
  test::sh("ln -s ../../outside-dir " + root_ + "/data/link2 && mkdir -p " + dir_ + "/s3/link2 && echo y > " + dir_ +
           "/s3/link2/f && tar cf " + dir_ + "/s3.tar -C " + dir_ + "/s3 link2/f");
  EXPECT_FALSE(extract(test::read_file(dir_ + "/s3.tar"), "/data"));
  EXPECT_FALSE(test::path_exists(dir_ + "/outside-dir/f"));
  EXPECT_EQ(test::read_file(dir_ + "/outside"), "secret-host\n");
}

TEST_F(ArchiveTest, ExportsTheWholeTree) {
  std::string out;
  ASSERT_TRUE(write_tree_tar(fd_.get(), [&](const void* d, size_t n) {
    out.append(static_cast<const char*>(d), n);
    return ok();
  }));
  auto names = list(out);
  EXPECT_NE(names.find("etc/hostname\n"), std::string::npos);
  EXPECT_NE(names.find("link\n"), std::string::npos);
  EXPECT_EQ(names.find("./"), std::string::npos);
}

}  // namespace
}  // namespace berth::agent

namespace berth::agent {
namespace {

// Handlers run on worker threads with bounded stacks: a deep tree must not need a big frame per
// level (checked with 256 KiB, a quarter of a worker's).
TEST_F(ArchiveTest, DeepTreesOnSmallStacks) {
  std::string deep = root_ + "/deep";
  std::string p = deep;
  for (int i = 0; i < 60; ++i) p += "/d" + std::to_string(i);
  ASSERT_EQ(test::sh("mkdir -p " + p + " && echo bottom > " + p + "/f").status, 0);
  Status tar_st, extract_st;
  std::string tar;
  auto work = [&] {
    tar_st = write_path_tar(fd_.get(), "/deep", [&](const void* d, size_t n) {
      tar.append(static_cast<const char*>(d), n);
      return ok();
    });
    extract_st = extract(tar, "/data");
  };
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  auto trampoline = [](void* arg) -> void* {
    (*static_cast<decltype(work)*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&t, &attr, trampoline, &work), 0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(tar_st);
  EXPECT_TRUE(extract_st);
  EXPECT_EQ(test::read_file(root_ + "/data" + p.substr(root_.size()) + "/f"), "bottom\n");
}

}  // namespace
}  // namespace berth::agent
