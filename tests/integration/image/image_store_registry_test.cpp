// The image store against a real registry (docker-registry 2.8) with images pushed by skopeo.
// Needs root (overlay mounts, whiteout devices, chown); skips with the reason otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <filesystem>

#include "image/image_store.h"
#include "image/rootfs.h"
#include "image/safe_fs.h"
#include "registry_fixture.h"

namespace berth::agent::image {
namespace {

using testing::OciLayoutBuilder;
using testing::RegistryProcess;
using testing::TarCompression;
using testing::TarEntry;

struct Shared {
  std::string skip;
  std::string work;
  std::unique_ptr<RegistryProcess> registry;
  std::unique_ptr<RegistryProcess> auth_registry;  // null when htpasswd is missing
  std::string auth_skip;
  OciLayoutBuilder::Image image;        // two layers, the host platform
  OciLayoutBuilder::Image corrupt;      // pushed, then damaged in the registry
  std::string layout;
};
Shared* g = nullptr;

std::string skopeo_push(const std::string& layout, const std::string& tag, const std::string& dest,
                        const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("oci:" + layout + ":" + tag);
  argv.push_back("docker://" + dest);
  auto r = berth::test::run(argv, "", 120);
  return r.status == 0 ? "" : "skopeo copy to " + dest + " failed: " + r.err;
}

// Started once per test process, by the first test of the suite.
struct RegistryEnvironment {
  static void SetUp() {
    g = new Shared;
    if (::geteuid() != 0) return void(g->skip = "needs root (overlay mounts, whiteout devices, ownership)");
    for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/bin/busybox"})
      if (::access(tool, X_OK) != 0) return void(g->skip = std::string(tool) + " is not installed");
    g->work = berth::test::make_temp_dir("berth-image-it");
    g->registry = std::make_unique<RegistryProcess>();
    if (auto err = g->registry->start(g->work + "/registry"); !err.empty()) return void(g->skip = err);

    g->layout = g->work + "/layout";
    OciLayoutBuilder b(g->layout);
    g->image = b.image({{testing::busybox_layer(), TarCompression::gzip}, {testing::change_layer(), TarCompression::zstd}},
                       host_platform());
    b.tag("v1", g->image.manifest);
    // Same layers, all gzip: the same image id (same diff ids) in a form docker-archive allows.
    b.tag("v1-gzip", b.image({{testing::busybox_layer(), TarCompression::gzip}, {testing::change_layer(), TarCompression::gzip}},
                             host_platform())
                         .manifest);
    auto s390x = b.image({{{TarEntry::file("only-s390x", "s")}, TarCompression::gzip}}, Platform{"linux", "s390x", "", ""});
    auto ppc = b.image({{{TarEntry::file("only-ppc", "p")}, TarCompression::gzip}}, Platform{"linux", "ppc64le", "", ""});
    b.tag("foreign", b.multi({s390x.manifest, ppc.manifest}));
    g->corrupt = b.image({{{TarEntry::file("corrupt-me", std::string(50000, 'c'))}, TarCompression::gzip}}, host_platform());
    b.tag("corrupt", g->corrupt.manifest);

    const std::string repo = g->registry->host() + "/test/busybox";
    for (auto [tag, extra] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"v1", {}}, {"v1-gzip", {}}, {"foreign", {"--all"}}, {"corrupt", {}}})
      if (auto err = skopeo_push(g->layout, tag, repo + ":" + tag, extra); !err.empty()) return void(g->skip = err);

    if (::access("/usr/bin/htpasswd", X_OK) != 0) {
      g->auth_skip = "htpasswd (apache2-utils) is not installed";
      return;
    }
    auto hp = berth::test::run({"htpasswd", "-Bbn", "alice", "wonderland"});
    if (hp.status != 0) return void(g->auth_skip = "htpasswd failed: " + hp.err);
    testing::write_file(g->work + "/htpasswd", hp.out);
    g->auth_registry = std::make_unique<RegistryProcess>();
    if (auto err = g->auth_registry->start(g->work + "/auth-registry", g->work + "/htpasswd"); !err.empty())
      return void(g->auth_skip = err);
    if (auto err = skopeo_push(g->layout, "v1", g->auth_registry->host() + "/private/busybox:v1",
                               {"--dest-creds", "alice:wonderland"});
        !err.empty())
      g->auth_skip = err;
  }

  static void TearDown() {
    if (!g) return;
    g->registry.reset();
    g->auth_registry.reset();
    if (!g->work.empty()) berth::test::remove_tree(g->work);
    delete g;
    g = nullptr;
  }
};

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RegistryEnvironment::SetUp(); }
  static void TearDownTestSuite() { RegistryEnvironment::TearDown(); }

  void SetUp() override {
    if (!g->skip.empty()) GTEST_SKIP() << g->skip;
    root_ = berth::test::make_temp_dir("berth-image-store");
    store_ = open_store(root_);
  }
  void TearDown() override {
    store_.reset();
    // A failed test may leave a rootfs mounted; never delete through a mount.
    for (const auto& c : {"c1", "c2", "copy"}) {
      std::string p = root_ + "/containers/" + c + "/rootfs";
      ::umount2(p.c_str(), MNT_DETACH);
    }
    if (!root_.empty()) berth::test::remove_tree(root_);
  }
  static std::unique_ptr<ImageStore> open_store(const std::string& root, RootfsOptions rootfs = {}) {
    StoreOptions o;
    o.state_root = root;
    o.rootfs = rootfs;
    return std::move(ImageStore::open(o).value());
  }
  std::string ref(const std::string& tag) const { return g->registry->host() + "/test/busybox:" + tag; }

  std::string root_;
  std::unique_ptr<ImageStore> store_;
};

struct stat lstat_or_fail(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st;
}

void expect_merged_view(const std::string& rootfs, const std::string& label) {
  EXPECT_EQ(testing::read_file(rootfs + "/hello.txt"), "hello from layer 2\n") << label;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(rootfs + "/etc/removeme"))) << label << ": whiteout ignored";
  EXPECT_EQ(testing::read_file(rootfs + "/etc/passwd")->substr(0, 4), "root") << label;
  std::set<std::string> opq;
  for (auto& e : std::filesystem::directory_iterator(rootfs + "/opq")) opq.insert(e.path().filename());
  EXPECT_EQ(opq, std::set<std::string>{"c"}) << label << ": opaque directory not honoured";
  EXPECT_EQ(std::filesystem::read_symlink(rootfs + "/bin/sh"), "busybox") << label;
  EXPECT_EQ(lstat_or_fail(rootfs + "/tmp").st_mode & 07777, 01777u) << label;
  // busybox really runs from it.
  auto r = berth::test::run({"chroot", rootfs, "/bin/sh", "-c", "echo ran inside; cat /hello.txt"});
  EXPECT_EQ(r.status, 0) << label << ": " << r.err;
  EXPECT_EQ(r.out, "ran inside\nhello from layer 2\n") << label;
}

TEST_F(RegistryTest, PullUnpacksSnapshotsAndMountsAnOverlay) {
  std::vector<ProgressEvent> events;
  auto img = store_->pull(ref("v1"), {}, [&](const ProgressEvent& e) { events.push_back(e); });
  ASSERT_TRUE(img) << img.error().what();
  EXPECT_EQ(img->id, g->image.config_digest);
  EXPECT_EQ(img->repo_tags, std::vector<std::string>{ref("v1")});
  EXPECT_EQ(img->config.user, "app");
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const ProgressEvent& e) { return e.status == "Pull complete"; }));

  // The snapshots hold the layers as overlay lower dirs: whiteout devices, opaque xattr.
  auto dirs = store_->layer_dirs(ref("v1")).value();
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(lstat_or_fail(dirs[0] + "/bin/busybox").st_size, lstat_or_fail("/bin/busybox").st_size);
  auto wh = lstat_or_fail(dirs[1] + "/etc/removeme");
  EXPECT_TRUE(S_ISCHR(wh.st_mode));
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  char v[2] = {};
  EXPECT_EQ(::getxattr((dirs[1] + "/opq").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');

  if (!overlay_available()) GTEST_SKIP() << "kernel without overlayfs: the copy fallback test covers rootfs";
  auto rootfs = store_->create_rootfs(ref("v1"), "c1");
  ASSERT_TRUE(rootfs) << rootfs.error().what();
  EXPECT_EQ(rootfs->mode, RootfsMode::overlay);
  EXPECT_EQ(rootfs->path, root_ + "/containers/c1/rootfs");
  expect_merged_view(rootfs->path, "overlay");

  // Changes land in the container's upper dir, never in the shared snapshots.
  testing::write_file(rootfs->path + "/new-file", "container change");
  std::filesystem::remove(rootfs->path + "/hello.txt");
  EXPECT_EQ(testing::read_file(root_ + "/containers/c1/upper/new-file"), "container change");
  EXPECT_EQ(testing::read_file(dirs[1] + "/hello.txt"), "hello from layer 2\n");

  // The user of the image resolves against the rootfs's own account files.
  auto fd = safefs::open_dir_path(rootfs->path).value();
  auto user = resolve_user(fd.get(), img->config.user);
  ASSERT_TRUE(user) << user.error().what();
  EXPECT_EQ(user->uid, 1000u);
  EXPECT_EQ(user->additional_gids, std::vector<uint32_t>{2000});
  fd.reset();

  // Mounting again is idempotent; unmount keeps changes; a second container is independent.
  EXPECT_TRUE(store_->create_rootfs(ref("v1"), "c1"));
  ASSERT_TRUE(rootfs->unmount());
  EXPECT_FALSE(std::filesystem::exists(rootfs->path + "/hello.txt"));
  auto again = store_->create_rootfs(ref("v1"), "c1").value();
  EXPECT_EQ(testing::read_file(again.path + "/new-file"), "container change");
  auto other = store_->create_rootfs(ref("v1"), "c2").value();
  EXPECT_EQ(testing::read_file(other.path + "/hello.txt"), "hello from layer 2\n");
  EXPECT_FALSE(std::filesystem::exists(other.path + "/new-file"));

  // While containers use the snapshots, removing the image does not delete them.
  ASSERT_TRUE(store_->remove(ref("v1"), true));
  EXPECT_TRUE(std::filesystem::exists(dirs[1] + "/hello.txt"));
  ASSERT_TRUE(again.remove());
  ASSERT_TRUE(other.remove());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/containers/c1"));
  ASSERT_TRUE(store_->collect_garbage());
  EXPECT_FALSE(std::filesystem::exists(dirs[1]));
}

TEST_F(RegistryTest, CopyFallbackGivesTheSameView) {
  auto copy_store = open_store(root_ + "/copy-store", RootfsOptions{true});
  ASSERT_TRUE(copy_store->pull(ref("v1"), {}));
  auto rootfs = copy_store->create_rootfs(ref("v1"), "copy");
  ASSERT_TRUE(rootfs) << rootfs.error().what();
  EXPECT_EQ(rootfs->mode, RootfsMode::copy);
  expect_merged_view(rootfs->path, "copy");
  EXPECT_EQ(lstat_or_fail(rootfs->path + "/bin/busybox").st_mode & 07777, 0755u);
  ASSERT_TRUE(rootfs->remove());
  EXPECT_FALSE(std::filesystem::exists(rootfs->container_dir));
}

TEST_F(RegistryTest, TagRemovePruneAndGc) {
  auto img = store_->pull(ref("v1"), {}).value();
  ASSERT_TRUE(store_->tag(ref("v1"), "local/busybox:mine"));
  EXPECT_EQ(store_->inspect("local/busybox:mine").value().id, img.id);
  auto untag = store_->remove("local/busybox:mine", false).value().items;
  ASSERT_EQ(untag.size(), 1u);
  EXPECT_EQ(untag[0].untagged, "local/busybox:mine");
  EXPECT_TRUE(store_->inspect(img.id));
  EXPECT_EQ(store_->prune(true).value().items.size(), 0u) << "a tagged image is not dangling";

  auto del = store_->remove(ref("v1"), false).value();
  EXPECT_TRUE(del.deleted);
  ASSERT_EQ(del.items.size(), 5u) << "untag v1 and its digest, delete the image and its two layers";
  EXPECT_EQ(del.items[2].deleted, img.id);
  EXPECT_EQ(del.items[3].deleted, img.layers[1].chain_id);
  EXPECT_EQ(del.items[4].deleted, img.layers[0].chain_id);
  EXPECT_FALSE(store_->inspect(img.id));
  EXPECT_TRUE(store_->content().list().value().empty());
  EXPECT_TRUE(store_->snapshots().list().value().empty());

  // prune -a semantics: everything not in use goes.
  ASSERT_TRUE(store_->pull(ref("v1"), {}));
  auto pruned = store_->prune(false).value();
  ASSERT_EQ(pruned.removed.size(), 1u);
  EXPECT_EQ(pruned.removed[0].id, img.id);
  EXPECT_GT(pruned.space_reclaimed, 1000000u);
  EXPECT_TRUE(store_->list().value().empty());
}

TEST_F(RegistryTest, SaveIsReadableByOtherToolsAndLoadsBack) {
  ASSERT_TRUE(store_->pull(ref("v1"), {}));
  std::string tar = root_ + "/saved.tar";
  {
    UniqueFd fd(::open(tar.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    auto st = store_->save_fd({ref("v1")}, fd.get());
    ASSERT_TRUE(st) << st.error().what();
  }
  // skopeo reads both halves of the archive: the docker-archive and the OCI layout.
  // Naming the tag makes skopeo find it in manifest.json's RepoTags.
  auto inspect = berth::test::run({"skopeo", "--insecure-policy", "inspect", "--raw", "docker-archive:" + tar + ":" + ref("v1")});
  ASSERT_EQ(inspect.status, 0) << inspect.err;
  auto raw = Json::parse(inspect.out);
  EXPECT_EQ(raw["config"]["digest"], g->image.config_digest) << inspect.out;
  EXPECT_EQ(raw["layers"].size(), 2u) << inspect.out;
  auto as_oci = berth::test::run({"skopeo", "--insecure-policy", "copy", "oci-archive:" + tar, "oci:" + root_ + "/from-save:x"});
  ASSERT_EQ(as_oci.status, 0) << as_oci.err;
  auto archive_ok = berth::test::run({"skopeo", "--insecure-policy", "copy", "docker-archive:" + tar,
                                    "oci:" + root_ + "/from-docker-archive:x"});
  ASSERT_EQ(archive_ok.status, 0) << archive_ok.err;

  auto fresh = open_store(root_ + "/fresh");
  UniqueFd in(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
  auto loaded = fresh->load_fd(in.get());
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ(loaded->loaded_tags, std::vector<std::string>{ref("v1")});
  auto rec = fresh->inspect(ref("v1")).value();
  EXPECT_EQ(rec.id, g->image.config_digest);
  EXPECT_EQ(rec.layers[1].diff_id, g->image.diff_ids[1]);

  // Archives written by skopeo load too: docker-archive and an OCI layout tarball.
  std::string skopeo_docker = root_ + "/skopeo-docker.tar", skopeo_oci = root_ + "/skopeo-oci.tar";
  auto a = berth::test::run({"skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", "docker://" + ref("v1-gzip"),
                             "docker-archive:" + skopeo_docker + ":other/name:tag"});
  ASSERT_EQ(a.status, 0) << a.err;
  auto b = berth::test::run({"skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", "docker://" + ref("v1"),
                             "oci-archive:" + skopeo_oci + ":" + ref("v1")});
  ASSERT_EQ(b.status, 0) << b.err;
  for (const auto& [path, tag] : {std::pair{skopeo_docker, std::string("other/name:tag")}, std::pair{skopeo_oci, ref("v1")}}) {
    auto s = open_store(root_ + "/from-" + std::filesystem::path(path).stem().string());
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    auto r = s->load_fd(fd.get());
    ASSERT_TRUE(r) << path << ": " << r.error().what();
    auto got = s->inspect(tag);
    ASSERT_TRUE(got) << path << ": " << got.error().what();
    EXPECT_EQ(got->id, g->image.config_digest) << path;
    EXPECT_EQ(testing::read_file(s->layer_dirs(tag).value()[1] + "/hello.txt"), "hello from layer 2\n") << path;
  }
}

TEST_F(RegistryTest, CorruptBlobInRegistryIsRejected) {
  std::string file = g->registry->blob_file(g->corrupt.layer_digests[0]);
  auto original = testing::read_file(file);
  ASSERT_TRUE(original) << "registry blob not found at " << file;
  std::string damaged = *original;
  damaged[damaged.size() / 2] ^= 0x55;
  testing::write_file(file, damaged);
  auto r = store_->pull(ref("corrupt"), {});
  testing::write_file(file, *original);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos) << r.error().message;
  EXPECT_FALSE(store_->inspect(ref("corrupt")));
  EXPECT_FALSE(store_->content().has(g->corrupt.layer_digests[0]));
  // With the registry healthy again the same store pulls it fine.
  auto ok = store_->pull(ref("corrupt"), {});
  ASSERT_TRUE(ok) << ok.error().what();
}

TEST_F(RegistryTest, ClearErrors) {
  auto unknown = store_->pull(ref("no-such-tag"), {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_NE(unknown.error().message.find("not found"), std::string::npos) << unknown.error().message;
  auto unknown_repo = store_->pull(g->registry->host() + "/nobody/here:1", {});
  ASSERT_FALSE(unknown_repo);
  EXPECT_EQ(unknown_repo.error().code, Errc::not_found) << unknown_repo.error().what();

  int dead = testing::free_port();
  auto down = store_->pull("127.0.0.1:" + std::to_string(dead) + "/test/busybox:v1", {});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::io);
  EXPECT_NE(down.error().message.find("registry 127.0.0.1:" + std::to_string(dead)), std::string::npos) << down.error().message;

  auto platform = store_->pull(ref("foreign"), {});
  ASSERT_FALSE(platform);
  EXPECT_EQ(platform.error().code, Errc::not_found);
  EXPECT_NE(platform.error().message.find("no matching manifest for " + host_platform().string()), std::string::npos)
      << platform.error().message;
  EXPECT_NE(platform.error().message.find("linux/s390x"), std::string::npos) << platform.error().message;
  EXPECT_NE(platform.error().message.find("linux/ppc64le"), std::string::npos) << platform.error().message;
  PullOptions s390x;
  s390x.platform = parse_platform("linux/s390x").value();
  auto chosen = store_->pull(ref("foreign"), {}, {}, s390x);
  ASSERT_TRUE(chosen) << chosen.error().what();
  EXPECT_EQ(chosen->platform.architecture, "s390x");
  EXPECT_TRUE(std::filesystem::exists(store_->layer_dirs(chosen->id).value()[0] + "/only-s390x"));
}

TEST_F(RegistryTest, BasicAuthRegistry) {
  if (!g->auth_registry) GTEST_SKIP() << g->auth_skip;
  std::string r = g->auth_registry->host() + "/private/busybox:v1";
  auto anon = store_->pull(r, {});
  ASSERT_FALSE(anon);
  EXPECT_EQ(anon.error().code, Errc::permission) << anon.error().what();
  auto wrong = store_->pull(r, RegistryAuth{"alice", "nope", "", "", ""});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::permission) << wrong.error().what();
  auto ok = store_->pull(r, RegistryAuth{"alice", "wonderland", "", "", ""});
  ASSERT_TRUE(ok) << ok.error().what();
  EXPECT_EQ(ok->id, g->image.config_digest);
}

}  // namespace
}  // namespace berth::agent::image
