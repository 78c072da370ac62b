#include <gtest/gtest.h>
#include <sys/mman.h>

#include <filesystem>
#include <thread>

#include "fake_registry.h"
#include "image/image_store.h"

namespace berth::agent::image {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::LayerSpec;
using testing::TarCompression;
using testing::TarEntry;
using testing::TempDir;

LayerSpec base_layer() {
  return {{TarEntry::dir("bin"), TarEntry::file("bin/busybox", std::string(20000, 'B'), 0755),
           TarEntry::symlink("bin/sh", "busybox"), TarEntry::dir("etc"), TarEntry::file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")},
          TarCompression::gzip};
}
LayerSpec app_layer(const std::string& content) {
  return {{TarEntry::dir("app"), TarEntry::file("app/data", content)}, TarCompression::zstd};
}

struct Events {
  std::mutex mu;
  std::vector<ProgressEvent> list;
  ProgressFn fn() {
    return [this](const ProgressEvent& e) {
      std::lock_guard lock(mu);
      list.push_back(e);
    };
  }
  bool has(const std::string& id, const std::string& status) {
    std::lock_guard lock(mu);
    return std::any_of(list.begin(), list.end(), [&](const ProgressEvent& e) {
      return (id == "*" || e.id == id) && e.status.starts_with(status);
    });
  }
  size_t count(const std::string& status) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count_if(list.begin(), list.end(), [&](const ProgressEvent& e) { return e.status.starts_with(status); }));
  }
};

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = open_store(dir_.path()); }
  static std::unique_ptr<ImageStore> open_store(const std::string& root) {
    StoreOptions o;
    o.state_root = root;
    auto s = ImageStore::open(o);
    EXPECT_TRUE(s) << s.error().what();
    return std::move(*s);
  }
  std::string ref(const std::string& r) { return reg_.host() + "/" + r; }
  size_t count_dir(const std::string& rel) {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ / rel)) (void)e, ++n;
    return n;
  }

  TempDir dir_;
  testing::FakeRegistry reg_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, PullStoresVerifiedContentAndReportsProgress) {
  auto img = testing::push_image(reg_, "test/img", "v1", {base_layer(), app_layer("one")});
  Events ev;
  auto r = store_->pull(ref("test/img:v1"), {}, ev.fn());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->id, img.config_digest);
  EXPECT_EQ(r->repo_tags, std::vector<std::string>{ref("test/img:v1")});
  EXPECT_EQ(r->repo_digests, std::vector<std::string>{ref("test/img@" + img.manifest_digest)});
  EXPECT_EQ(r->manifest_digest, img.manifest_digest);
  ASSERT_EQ(r->layers.size(), 2u);
  EXPECT_EQ(r->config.cmd, std::vector<std::string>{"sh"});
  EXPECT_GT(r->size, 20000);

  std::string l0 = short_id(img.layer_digests[0]);
  EXPECT_TRUE(ev.has("v1", "Pulling from test/img"));
  EXPECT_TRUE(ev.has(l0, "Pulling fs layer"));
  EXPECT_TRUE(ev.has(l0, "Downloading"));
  EXPECT_TRUE(ev.has(l0, "Verifying Checksum"));
  EXPECT_TRUE(ev.has(l0, "Download complete"));
  EXPECT_TRUE(ev.has(l0, "Extracting"));
  EXPECT_TRUE(ev.has(l0, "Pull complete"));
  EXPECT_TRUE(ev.has("", "Digest: " + img.manifest_digest));
  EXPECT_TRUE(ev.has("", "Status: Downloaded newer image for " + ref("test/img:v1")));

  auto dirs = store_->layer_dirs(ref("test/img:v1")).value();
  ASSERT_EQ(dirs.size(), 2u);
  EXPECT_EQ(dirs[0], dir_ / ("snapshots/" + std::string(digest_hex(img.diff_ids[0])) + "/fs"));
  EXPECT_EQ(testing::read_file(dirs[0] + "/bin/busybox")->size(), 20000u);
  EXPECT_EQ(testing::read_file(dirs[1] + "/app/data"), "one");
  for (const auto& d : img.layer_digests) EXPECT_TRUE(store_->content().has(d));
  EXPECT_TRUE(store_->content().has(img.manifest_digest));

  // Pulling again downloads nothing.
  size_t gets = reg_.blob_gets_total();
  Events again;
  auto r2 = store_->pull(ref("test/img:v1"), {}, again.fn());
  ASSERT_TRUE(r2) << r2.error().what();
  EXPECT_EQ(reg_.blob_gets_total(), gets);
  EXPECT_TRUE(again.has(l0, "Already exists"));
  EXPECT_TRUE(again.has("", "Status: Image is up to date for " + ref("test/img:v1")));

  // The index survives a restart.
  store_.reset();
  store_ = open_store(dir_.path());
  auto back = store_->inspect(ref("test/img:v1"));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->id, img.config_digest);
}

TEST_F(ImageStoreTest, PullByDigestAndPrivateDirectories) {
  auto img = testing::push_image(reg_, "test/pinned", "1", {app_layer("pinned")});
  auto r = store_->pull(ref("test/pinned@" + img.manifest_digest), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_TRUE(r->repo_tags.empty());
  EXPECT_EQ(r->repo_digests, std::vector<std::string>{ref("test/pinned@" + img.manifest_digest)});
  EXPECT_EQ(store_->list(true).value().size(), 1u) << "no tag: dangling, as dockerd counts a digest-only image";
  // Set-id binaries of images live under these: no other user may reach them.
  for (const char* d : {"content", "content/blobs/sha256", "content/ingest", "snapshots"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ / d).c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
  auto wrong = store_->pull(ref("test/pinned@sha256:" + std::string(64, '0')), {});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::not_found);
}

TEST_F(ImageStoreTest, SharedLayersAreFetchedOnceAndUnpackedOnce) {
  auto a = testing::push_image(reg_, "test/a", "1", {base_layer(), app_layer("a")});
  auto b = testing::push_image(reg_, "test/b", "1", {base_layer(), app_layer("b")});
  auto dup = testing::push_image(reg_, "test/dup", "1", {app_layer("same"), app_layer("same")});
  ASSERT_TRUE(store_->pull(ref("test/a:1"), {}));
  Events ev;
  ASSERT_TRUE(store_->pull(ref("test/b:1"), {}, ev.fn()));
  EXPECT_EQ(reg_.blob_gets(a.layer_digests[0]), 1u);
  EXPECT_TRUE(ev.has(short_id(a.layer_digests[0]), "Already exists"));
  EXPECT_EQ(count_dir("snapshots"), 3u);

  ASSERT_EQ(dup.layer_digests[0], dup.layer_digests[1]);
  auto r = store_->pull(ref("test/dup:1"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(reg_.blob_gets(dup.layer_digests[0]), 1u);
  EXPECT_EQ(store_->layer_dirs(ref("test/dup:1")).value().size(), 2u);
}

TEST_F(ImageStoreTest, IndexSelectsThePlatformOrListsWhatExists) {
  auto img = testing::push_image(reg_, "test/multi", "", {base_layer()});
  auto other = testing::push_image(reg_, "test/multi", "", {app_layer("s390x")}, Platform{"linux", "s390x", "", ""});
  Json idx = {{"schemaVersion", 2},
              {"mediaType", media_type::kOciIndex},
              {"manifests",
               {{{"mediaType", media_type::kOciManifest}, {"digest", other.manifest_digest}, {"size", other.manifest.size()},
                 {"platform", {{"os", "linux"}, {"architecture", "s390x"}}}},
                {{"mediaType", media_type::kOciManifest}, {"digest", img.manifest_digest}, {"size", img.manifest.size()},
                 {"platform", platform_to_json(host_platform())}},
                {{"mediaType", media_type::kOciManifest}, {"digest", other.manifest_digest}, {"size", other.manifest.size()},
                 {"platform", {{"os", "unknown"}, {"architecture", "unknown"}}}}}}};
  std::string index_digest = reg_.put_manifest("test/multi", "latest", idx.dump(), std::string(media_type::kOciIndex));

  auto r = store_->pull(ref("test/multi"), {});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->id, img.config_digest);
  EXPECT_EQ(r->index_digest, index_digest);
  EXPECT_EQ(r->repo_digests, std::vector<std::string>{ref("test/multi@" + index_digest)});

  PullOptions s390x;
  s390x.platform = parse_platform("linux/s390x").value();
  auto other_pulled = store_->pull(ref("test/multi:latest"), {}, {}, s390x);
  ASSERT_TRUE(other_pulled) << other_pulled.error().what();
  EXPECT_EQ(other_pulled->id, other.config_digest);

  PullOptions riscv;
  riscv.platform = parse_platform("linux/riscv64").value();
  auto none = store_->pull(ref("test/multi:latest"), {}, {}, riscv);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
  EXPECT_NE(none.error().message.find("no matching manifest for linux/riscv64"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find("linux/s390x"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find(host_platform().string()), std::string::npos) << none.error().message;
  EXPECT_EQ(none.error().message.find("unknown"), std::string::npos) << "attestations are not platforms";

  // A single-platform image asked for explicitly on another platform is refused.
  testing::push_image(reg_, "test/single", "1", {app_layer("x")}, Platform{"linux", "s390x", "", ""});
  PullOptions host;
  host.platform = host_platform();
  auto mismatch = store_->pull(ref("test/single:1"), {}, {}, host);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("does not match the specified platform"), std::string::npos);
}

TEST_F(ImageStoreTest, PullErrors) {
  auto unknown = store_->pull(ref("test/nothing:here"), {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_NE(unknown.error().message.find("not found"), std::string::npos);

  auto bad = store_->pull("Not A Reference", {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);

  EXPECT_EQ(store_->inspect("nothing").error().message, "No such image: nothing:latest");
  EXPECT_EQ(store_->inspect("nothing").error().code, Errc::not_found);
}

TEST_F(ImageStoreTest, CorruptLayerFailsThePullAndLeavesNoImage) {
  auto img = testing::push_image(reg_, "test/corrupt", "1", {base_layer(), app_layer("fine")});
  std::string real = testing::build_tar(app_layer("fine").entries, TarCompression::zstd);
  std::string tampered = testing::build_tar(app_layer("evil").entries, TarCompression::zstd);
  reg_.replace_blob(img.layer_digests[1], tampered);
  auto r = store_->pull(ref("test/corrupt:1"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos) << r.error().message;
  EXPECT_FALSE(store_->inspect(ref("test/corrupt:1")));
  EXPECT_FALSE(store_->content().has(img.layer_digests[1]));
  EXPECT_FALSE(store_->snapshots().has(chain_ids(img.diff_ids)[1]));

  // Fixed upstream: the pull completes, reusing what was already fetched.
  reg_.replace_blob(img.layer_digests[1], real);
  size_t base_gets = reg_.blob_gets(img.layer_digests[0]);
  ASSERT_TRUE(store_->pull(ref("test/corrupt:1"), {}));
  EXPECT_EQ(reg_.blob_gets(img.layer_digests[0]), base_gets);
}

TEST_F(ImageStoreTest, InterruptedPullResumesWithRange) {
  LayerSpec big{{TarEntry::file("big", testing::build_tar({TarEntry::file("n", std::string(300000, 'n'))}))}, TarCompression::none};
  std::string blob = testing::build_tar(big.entries);
  auto img = testing::push_image(reg_, "test/resume", "1", {big});
  ASSERT_EQ(sha256_digest(blob), img.layer_digests[0]);
  // Every attempt of the first pull loses the connection after 100000 bytes.
  reg_.set_hook([&](const FakeRequest& r) -> std::optional<FakeResponse> {
    if (!r.path().ends_with(img.layer_digests[0])) return std::nullopt;
    FakeResponse cut;
    cut.body = blob;
    cut.cut_after = 100000;
    return cut;
  });
  auto r = store_->pull(ref("test/resume:1"), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io) << r.error().what();
  EXPECT_FALSE(store_->inspect(ref("test/resume:1")));
  EXPECT_FALSE(store_->content().has(img.layer_digests[0]));
  EXPECT_EQ(count_dir("content/ingest"), 1u) << "the partial download is kept";

  reg_.set_hook({});
  auto ok = store_->pull(ref("test/resume:1"), {});
  ASSERT_TRUE(ok) << ok.error().what();
  auto reqs = reg_.server().requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_TRUE(reqs.back().path().ends_with(img.layer_digests[0]));
  EXPECT_EQ(reqs.back().header("range"), "bytes=100000-") << "the second pull resumes where the first stopped";
  EXPECT_EQ(count_dir("content/ingest"), 0u);
}

TEST_F(ImageStoreTest, TagRemovePruneAndGarbageCollection) {
  auto a = testing::push_image(reg_, "test/a", "1", {base_layer(), app_layer("a")});
  auto b = testing::push_image(reg_, "test/b", "1", {base_layer(), app_layer("b")});
  ASSERT_TRUE(store_->pull(ref("test/a:1"), {}));
  ASSERT_TRUE(store_->pull(ref("test/b:1"), {}));

  ASSERT_TRUE(store_->tag(ref("test/a:1"), "mytag"));
  ASSERT_TRUE(store_->tag(short_id(a.config_digest), "other/name:x"));
  EXPECT_FALSE(store_->tag("nothing", "x"));
  EXPECT_FALSE(store_->tag(ref("test/a:1"), "bad@sha256:" + std::string(64, 'a')));
  auto ia = store_->inspect("mytag:latest").value();
  EXPECT_EQ(ia.id, a.config_digest);
  EXPECT_EQ(ia.repo_tags.size(), 3u);
  EXPECT_EQ(store_->inspect(std::string(digest_hex(a.config_digest))).value().id, a.config_digest);
  EXPECT_EQ(store_->inspect(ref("test/a@" + a.manifest_digest)).value().id, a.config_digest);
  EXPECT_EQ(store_->list().value().size(), 2u);

  // Several references: a name only untags.
  auto items = store_->remove("mytag", false).value().items;
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].untagged, "mytag:latest");

  // By id with several repositories pointing at it: needs force.
  auto multi = store_->remove(a.config_digest, false);
  ASSERT_FALSE(multi);
  EXPECT_EQ(multi.error().code, Errc::conflict);
  EXPECT_NE(multi.error().message.find("referenced in multiple repositories"), std::string::npos);

  // A container uses b.
  InUseFn b_used = [&](const std::string& id) -> std::optional<ImageUse> {
    if (id == b.config_digest) return ImageUse{"c0ffee000000000000", false};
    return std::nullopt;
  };
  InUseFn b_running = [&](const std::string& id) -> std::optional<ImageUse> {
    if (id == b.config_digest) return ImageUse{"c0ffee000000000000", true};
    return std::nullopt;
  };
  auto last_tag = store_->remove(ref("test/b:1"), false, b_used);
  ASSERT_FALSE(last_tag);
  EXPECT_EQ(last_tag.error().code, Errc::conflict);
  EXPECT_NE(last_tag.error().message.find("must force"), std::string::npos);
  auto running = store_->remove(b.config_digest, true, b_running);
  ASSERT_FALSE(running);
  EXPECT_NE(running.error().message.find("cannot be forced"), std::string::npos);
  auto stopped = store_->remove(b.config_digest, false, b_used);
  ASSERT_FALSE(stopped);
  EXPECT_NE(stopped.error().message.find("stopped container"), std::string::npos);
  // Forced untag of the last name: the image stays, dangling, because a running container
  // uses it (a stopped one would not keep it: see RemoveFollowsDockerdRules).
  auto forced = store_->remove(ref("test/b:1"), true, b_running).value().items;
  EXPECT_TRUE(std::none_of(forced.begin(), forced.end(), [](const DeleteItem& i) { return !i.deleted.empty(); }));
  EXPECT_TRUE(store_->inspect(b.config_digest));
  EXPECT_EQ(store_->list(true).value().size(), 1u);
  auto pruned_in_use = store_->prune(true, b_used).value();
  EXPECT_TRUE(pruned_in_use.items.empty());
  auto pruned = store_->prune(true, {}).value();
  ASSERT_EQ(pruned.items.size(), 2u);
  EXPECT_EQ(pruned.items[0].deleted, b.config_digest);
  EXPECT_EQ(pruned.items[1].deleted, chain_ids(b.diff_ids)[1]) << "the layer only b had";
  EXPECT_GT(pruned.space_reclaimed, 0u);
  EXPECT_FALSE(store_->content().has(b.layer_digests[1]));
  EXPECT_FALSE(store_->snapshots().has(chain_ids(b.diff_ids)[1]));
  EXPECT_TRUE(store_->snapshots().has(chain_ids(b.diff_ids)[0])) << "shared with a";
  EXPECT_TRUE(store_->content().has(b.layer_digests[0]));

  // Forced removal by id untags everything and deletes; GC takes what only a had.
  auto gone = store_->remove(a.config_digest, true).value().items;
  ASSERT_GE(gone.size(), 5u);
  EXPECT_EQ(gone[gone.size() - 3].deleted, a.config_digest);
  // Then the layers that went with it, top first (as dockerd lists them).
  EXPECT_EQ(gone[gone.size() - 2].deleted, chain_ids(a.diff_ids)[1]);
  EXPECT_EQ(gone.back().deleted, chain_ids(a.diff_ids)[0]);
  EXPECT_TRUE(store_->list().value().empty());
  EXPECT_EQ(store_->content().list().value().size(), 0u);
  EXPECT_EQ(store_->snapshots().list().value().size(), 0u);
}

TEST_F(ImageStoreTest, GarbageCollectionKeepsSnapshotsContainersUse) {
  auto a = testing::push_image(reg_, "test/a", "1", {base_layer()});
  ASSERT_TRUE(store_->pull(ref("test/a:1"), {}));
  std::filesystem::create_directories(dir_ / "containers/c1");
  Json rec = {{"mode", "overlay"}, {"layers", store_->layer_dirs(ref("test/a:1")).value()}};
  testing::write_file(dir_ / "containers/c1/rootfs.json", rec.dump());
  ASSERT_TRUE(store_->remove(ref("test/a:1"), true));
  EXPECT_TRUE(store_->snapshots().has(chain_ids(a.diff_ids)[0]));
  std::filesystem::remove_all(dir_ / "containers/c1");
  EXPECT_TRUE(store_->collect_garbage());
  EXPECT_FALSE(store_->snapshots().has(chain_ids(a.diff_ids)[0]));
}

TEST_F(ImageStoreTest, HistoryAndDiskUsage) {
  auto a = testing::push_image(reg_, "test/a", "1", {base_layer(), app_layer("a")});
  testing::push_image(reg_, "test/b", "1", {base_layer()});
  ASSERT_TRUE(store_->pull(ref("test/a:1"), {}));
  ASSERT_TRUE(store_->pull(ref("test/b:1"), {}));
  auto h = store_->history(ref("test/a:1")).value();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].id, a.config_digest);
  EXPECT_EQ(h[0].created_by, "CMD [\"sh\"]");
  EXPECT_EQ(h[0].size, 0);
  EXPECT_EQ(h[0].tags, std::vector<std::string>{ref("test/a:1")});
  EXPECT_EQ(h[2].id, "<missing>");
  EXPECT_GT(h[2].size, 20000);
  EXPECT_EQ(h[0].created, 1714979290);

  auto du = store_->disk_usage().value();
  ASSERT_EQ(du.images.size(), 2u);
  EXPECT_GT(du.layers_size, 0u);
  EXPECT_GT(du.content_size, 0u);
  for (const auto& i : du.images) {
    EXPECT_GT(i.shared_size, 20000);
    EXPECT_EQ(i.unique_size, i.size - i.shared_size);
  }
}

TEST_F(ImageStoreTest, ConcurrentPullsOfOneImage) {
  testing::push_image(reg_, "test/c", "1", {base_layer(), app_layer("c")});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      if (store_->pull(ref("test/c:1"), {})) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(count_dir("snapshots"), 2u);
  EXPECT_EQ(count_dir("content/ingest"), 0u);
}

std::string read_all_fd(int fd) {
  ::lseek(fd, 0, SEEK_SET);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::map<std::string, std::string> untar(const std::string& data) {
  std::map<std::string, std::string> files;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, data.data(), data.size());
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string content(static_cast<size_t>(archive_entry_size(e)), '\0');
    archive_read_data(a, content.data(), content.size());
    files[archive_entry_pathname(e)] = content;
  }
  archive_read_free(a);
  return files;
}

TEST_F(ImageStoreTest, SaveLoadRoundTrip) {
  auto a = testing::push_image(reg_, "test/a", "1", {base_layer(), app_layer("a")});
  ASSERT_TRUE(store_->pull(ref("test/a:1"), {}));
  ASSERT_TRUE(store_->tag(ref("test/a:1"), ref("test/a:2")));
  UniqueFd fd(::memfd_create("save", MFD_CLOEXEC));
  auto st = store_->save_fd({ref("test/a")}, fd.get());
  ASSERT_TRUE(st) << st.error().what();
  std::string archive = read_all_fd(fd.get());
  auto files = untar(archive);
  ASSERT_TRUE(files.count("manifest.json"));
  ASSERT_TRUE(files.count("index.json"));
  ASSERT_TRUE(files.count("oci-layout"));
  auto manifest = Json::parse(files["manifest.json"]);
  ASSERT_EQ(manifest.size(), 1u);
  EXPECT_EQ(manifest[0]["Config"], "blobs/sha256/" + std::string(digest_hex(a.config_digest)));
  EXPECT_EQ(manifest[0]["RepoTags"].size(), 2u);
  ASSERT_EQ(manifest[0]["Layers"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    std::string path = manifest[0]["Layers"][i];
    ASSERT_TRUE(files.count(path)) << path;
    EXPECT_EQ(sha256_digest(files[path]), a.diff_ids[i]) << "saved layers are the uncompressed diffs";
  }
  EXPECT_EQ(Json::parse(files["index.json"])["manifests"].size(), 2u);

  TempDir other;
  auto fresh = open_store(other.path());
  ::lseek(fd.get(), 0, SEEK_SET);
  Events ev;
  auto loaded = fresh->load_fd(fd.get(), ev.fn());
  ASSERT_TRUE(loaded) << loaded.error().what();
  EXPECT_EQ(loaded->loaded_tags.size(), 2u);
  EXPECT_TRUE(ev.has("*", "Loading layer"));
  auto rec = fresh->inspect(ref("test/a:2"));
  ASSERT_TRUE(rec) << rec.error().what();
  EXPECT_EQ(rec->id, a.config_digest);
  EXPECT_EQ(rec->layers[1].diff_id, a.diff_ids[1]);
  EXPECT_EQ(testing::read_file(fresh->layer_dirs(ref("test/a:2")).value()[1] + "/app/data"), "a");
  // Only what the image uses was kept from the archive.
  EXPECT_EQ(fresh->content().list().value().size(), 4u);

  // And it loads into the store it came from, too (no duplicates, same id).
  ::lseek(fd.get(), 0, SEEK_SET);
  ASSERT_TRUE(store_->load_fd(fd.get()));
  EXPECT_EQ(store_->list().value().size(), 1u);

  // Saving an unknown name fails before writing anything.
  UniqueFd fd2(::memfd_create("save2", MFD_CLOEXEC));
  auto missing = store_->save_fd({"nothing:here"}, fd2.get());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  EXPECT_EQ(read_all_fd(fd2.get()).size(), 0u);
}

std::string tar_of(const std::map<std::string, std::string>& files) {
  std::vector<TarEntry> entries;
  for (const auto& [p, d] : files) entries.push_back(TarEntry::file(p, d));
  return testing::build_tar(entries);
}

TEST_F(ImageStoreTest, LoadRejectsBadArchives) {
  std::string layer = testing::build_tar({TarEntry::file("f", "content")});
  std::string config = Json{{"architecture", "amd64"}, {"os", "linux"},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", {sha256_digest("different")}}}}}.dump();
  std::string manifest = Json::array({{{"Config", "c.json"}, {"RepoTags", {"bad:1"}}, {"Layers", {"l/layer.tar"}}}}).dump();
  auto load_string = [&](const std::string& data) {
    UniqueFd fd(testing::memfd_with(data));
    return store_->load_fd(fd.get());
  };
  auto mismatch = load_string(tar_of({{"manifest.json", manifest}, {"c.json", config}, {"l/layer.tar", layer}}));
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("diff id"), std::string::npos) << mismatch.error().message;
  EXPECT_FALSE(store_->inspect("bad:1"));
  EXPECT_TRUE(store_->content().list().value().empty()) << "a failed load keeps nothing";
  EXPECT_TRUE(store_->snapshots().list().value().empty());

  auto missing_layer = load_string(tar_of({{"manifest.json", manifest}, {"c.json", config}}));
  ASSERT_FALSE(missing_layer);
  EXPECT_NE(missing_layer.error().message.find("l/layer.tar"), std::string::npos);

  auto not_image = load_string(tar_of({{"hello.txt", "hi"}}));
  ASSERT_FALSE(not_image);
  EXPECT_EQ(not_image.error().code, Errc::invalid_argument);

  auto garbage = load_string(std::string(5000, 'g'));
  ASSERT_FALSE(garbage);

  // OCI layout whose blob does not hash to its name.
  std::string fake = "sha256:" + std::string(64, 'a');
  Json index = {{"schemaVersion", 2}, {"manifests", {{{"mediaType", media_type::kOciManifest}, {"digest", fake}, {"size", 2}}}}};
  auto lying = load_string(tar_of({{"index.json", index.dump()}, {"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
                                   {"blobs/sha256/" + std::string(64, 'a'), "{}"}}));
  ASSERT_FALSE(lying);
  EXPECT_NE(lying.error().message.find("does not match its digest"), std::string::npos) << lying.error().message;
}

TEST_F(ImageStoreTest, LoadsLegacyDockerArchiveWithSymlinkedLayers) {
  std::string layer = testing::build_tar({TarEntry::file("hello", "world")});
  std::string diff = sha256_digest(layer);
  std::string config = Json{{"architecture", host_platform().architecture}, {"os", "linux"},
                            {"config", {{"Cmd", {"/hello"}}}},
                            {"rootfs", {{"type", "layers"}, {"diff_ids", {diff, diff}}}}}.dump();
  std::string manifest =
      Json::array({{{"Config", "cfg.json"}, {"RepoTags", {"legacy:1"}}, {"Layers", {"aaa/layer.tar", "bbb/layer.tar"}}}}).dump();
  std::vector<TarEntry> entries = {TarEntry::file("manifest.json", manifest), TarEntry::file("cfg.json", config),
                                   TarEntry::dir("aaa"), TarEntry::file("aaa/layer.tar", layer), TarEntry::dir("bbb"),
                                   TarEntry::symlink("bbb/layer.tar", "../aaa/layer.tar"), TarEntry::file("repositories", "{}")};
  UniqueFd fd(testing::memfd_with(testing::build_tar(entries, TarCompression::gzip)));
  auto r = store_->load_fd(fd.get());
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->loaded_tags, std::vector<std::string>{"legacy:1"});
  auto rec = store_->inspect("legacy:1").value();
  EXPECT_EQ(rec.id, sha256_digest(config));
  EXPECT_EQ(rec.layers.size(), 2u);
  EXPECT_EQ(rec.layers[0].media_type, media_type::kOciLayer);
}

}  // namespace
}  // namespace berth::agent::image
