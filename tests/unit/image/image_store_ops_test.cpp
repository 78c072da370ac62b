// Tag, rmi, prune, history, distribution and save details of the image store, checked
// against dockerd's rules (daemon/images/image_delete.go, image_prune.go, image_history.go).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <filesystem>

#include "berth/common/fs.h"
#include "fake_registry.h"
#include "image/image_store.h"

namespace berth::agent::image {
namespace {

using testing::LayerSpec;
using testing::TarCompression;
using testing::TarEntry;
using testing::TempDir;

LayerSpec layer(const std::string& name, const std::string& content) {
  return {{TarEntry::file(name, content)}, TarCompression::gzip};
}

InUseFn used_by(const std::string& image_id, bool running) {
  return [image_id, running](const std::string& id) -> std::optional<ImageUse> {
    if (id == image_id) return ImageUse{"c0ffee0123456789abcdef", running};
    return std::nullopt;
  };
}

class ImageOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.state_root = dir_.path();
    auto s = ImageStore::open(o);
    ASSERT_TRUE(s) << s.error().what();
    store_ = std::move(*s);
  }
  std::string ref(const std::string& r) { return reg_.host() + "/" + r; }
  testing::PushedImage pull(const std::string& repo_tag, const std::vector<LayerSpec>& layers, const std::string& label = "") {
    auto colon = repo_tag.find(':');
    auto img = testing::push_image(reg_, repo_tag.substr(0, colon), repo_tag.substr(colon + 1), layers, host_platform(), label);
    auto r = store_->pull(ref(repo_tag), {});
    EXPECT_TRUE(r) << r.error().what();
    return img;
  }
  std::string index_file() { return fs::read_file(dir_ / "images.json").value_or(""); }
  static bool has_deleted(const std::vector<DeleteItem>& items, const std::string& what) {
    return std::any_of(items.begin(), items.end(), [&](const DeleteItem& i) { return i.deleted == what; });
  }

  TempDir dir_;
  testing::FakeRegistry reg_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageOpsTest, TagNormalisesAndMovesReferences) {
  auto a = pull("t/a:1", {layer("a", "a")});
  auto b = pull("t/b:1", {layer("b", "b")});
  auto id = store_->tag(ref("t/a:1"), "docker.io/library/shared");
  ASSERT_TRUE(id) << id.error().what();
  EXPECT_EQ(*id, a.config_digest);
  auto rec = store_->inspect("shared:latest").value();
  EXPECT_EQ(rec.id, a.config_digest);
  EXPECT_NE(std::find(rec.repo_tags.begin(), rec.repo_tags.end(), "shared:latest"), rec.repo_tags.end());
  // The same name on another image moves; the first image keeps its other names.
  ASSERT_TRUE(store_->tag(ref("t/b:1"), "shared"));
  EXPECT_EQ(store_->inspect("shared").value().id, b.config_digest);
  EXPECT_EQ(store_->inspect(ref("t/a:1")).value().id, a.config_digest);

  std::string before = index_file();
  EXPECT_EQ(store_->tag("nope", "x").error().code, Errc::not_found);
  EXPECT_EQ(store_->tag("nope", "x").error().message, "No such image: nope:latest");
  EXPECT_EQ(store_->tag(ref("t/a:1"), "Bad").error().code, Errc::invalid_argument);
  EXPECT_EQ(store_->tag(ref("t/a:1"), "sha256:1").error().message,
            "refusing to create an ambiguous tag using digest algorithm as name");
  EXPECT_EQ(index_file(), before) << "failed tags change nothing";
}

TEST_F(ImageOpsTest, UnknownAndMalformedNames) {
  pull("t/a:1", {layer("a", "a")});
  auto unknown = store_->remove("nothere", false);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, Errc::not_found);
  EXPECT_EQ(unknown.error().message, "No such image: nothere:latest");
  auto by_id = store_->remove("sha256:" + std::string(64, 'e'), false);
  EXPECT_EQ(by_id.error().message, "No such image: sha256:" + std::string(64, 'e'));
  auto bad = store_->remove("Not/Valid", false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_NE(bad.error().message.find("invalid reference format"), std::string::npos);
  EXPECT_EQ(store_->history("nothere").error().code, Errc::not_found);
  EXPECT_EQ(store_->list().value().size(), 1u);
}

TEST_F(ImageOpsTest, RemoveUntagsWhileOtherNamesRemainThenDeletes) {
  auto a = pull("t/a:1", {layer("base", "x"), layer("top", "a")});
  ASSERT_TRUE(store_->tag(ref("t/a:1"), "other:2"));
  auto first = store_->remove("other:2", false).value();
  EXPECT_EQ(first.id, a.config_digest);
  EXPECT_FALSE(first.deleted);
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].untagged, "other:2");
  EXPECT_TRUE(store_->content().has(a.layer_digests[1]));

  // The last tag: its digest reference goes with it, then the image, then its layers.
  auto last = store_->remove(ref("t/a:1"), false).value();
  EXPECT_TRUE(last.deleted);
  ASSERT_EQ(last.items.size(), 5u);
  EXPECT_EQ(last.items[0].untagged, ref("t/a:1"));
  EXPECT_EQ(last.items[1].untagged, ref("t/a@" + a.manifest_digest));
  EXPECT_EQ(last.items[2].deleted, a.config_digest);
  EXPECT_EQ(last.items[3].deleted, chain_ids(a.diff_ids)[1]);
  EXPECT_EQ(last.items[4].deleted, chain_ids(a.diff_ids)[0]);
  EXPECT_TRUE(store_->content().list().value().empty()) << "unreferenced blobs are collected";
  EXPECT_TRUE(store_->snapshots().list().value().empty());
}

TEST_F(ImageOpsTest, RemoveConflictsWithContainersAsDockerd) {
  auto a = pull("t/a:1", {layer("a", "a")});
  std::string before = index_file();
  auto stopped = used_by(a.config_digest, false);
  auto running = used_by(a.config_digest, true);

  auto by_name = store_->remove(ref("t/a:1"), false, stopped);
  ASSERT_FALSE(by_name);
  EXPECT_EQ(by_name.error().code, Errc::conflict);
  EXPECT_EQ(by_name.error().message, "conflict: unable to remove repository reference \"" + ref("t/a:1") +
                                         "\" (must force) - container c0ffee012345 is using its referenced image " +
                                         a.config_digest.substr(7, 12));
  auto by_id = store_->remove(a.config_digest, false, stopped);
  EXPECT_EQ(by_id.error().message, "conflict: unable to delete " + a.config_digest.substr(7, 12) +
                                       " (must be forced) - image is being used by stopped container c0ffee012345");
  auto by_id_running = store_->remove(a.config_digest.substr(7, 4), true, running);
  EXPECT_EQ(by_id_running.error().message, "conflict: unable to delete " + a.config_digest.substr(7, 12) +
                                               " (cannot be forced) - image is being used by running container c0ffee012345");
  EXPECT_EQ(index_file(), before) << "refused removals change nothing";
  EXPECT_EQ(store_->inspect(ref("t/a:1")).value().id, a.config_digest);

  // Forced by name with a running user: untagged, but the image stays (dangling).
  auto kept = store_->remove(ref("t/a:1"), true, running).value();
  EXPECT_FALSE(kept.deleted);
  EXPECT_EQ(kept.items.size(), 2u);
  EXPECT_TRUE(store_->inspect(a.config_digest));
  EXPECT_TRUE(store_->is_dangling(a.config_digest));

  // Forced with only a stopped user: dockerd deletes the image; the container keeps its
  // snapshots (rootfs GC guard), which are not reported as deleted here.
  ASSERT_TRUE(store_->tag(a.config_digest, "again:1"));
  auto gone = store_->remove("again:1", true, stopped).value();
  EXPECT_TRUE(gone.deleted);
  EXPECT_TRUE(has_deleted(gone.items, a.config_digest));
  EXPECT_FALSE(store_->inspect(a.config_digest));
}

TEST_F(ImageOpsTest, RemoveByIdNeedsForceForSeveralRepositories) {
  auto a = pull("t/a:1", {layer("a", "a")});
  ASSERT_TRUE(store_->tag(ref("t/a:1"), "x/other:1"));
  auto refused = store_->remove(a.config_digest, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "conflict: unable to delete " + a.config_digest.substr(7, 12) +
                                         " (must be forced) - image is referenced in multiple repositories");
  // A single repository (tag + digest of the same name) is not "several".
  ASSERT_TRUE(store_->remove("x/other:1", false));
  auto ok = store_->remove(a.config_digest.substr(7, 12), false).value();
  EXPECT_TRUE(ok.deleted);
  ASSERT_EQ(ok.items.size(), 4u);
  EXPECT_EQ(ok.items[0].untagged, ref("t/a:1"));
  EXPECT_EQ(ok.items[1].untagged, ref("t/a@" + a.manifest_digest));
  EXPECT_EQ(ok.items[2].deleted, a.config_digest);
}

TEST_F(ImageOpsTest, DanglingMeansNoTag) {
  auto a = pull("t/a:1", {layer("a", "a")});
  auto b = pull("t/b:1", {layer("b", "b")});
  // b known only by digest: dangling for list and prune, as dockerd counts it.
  ASSERT_TRUE(store_->remove(ref("t/b:1"), false).value().deleted);
  ASSERT_TRUE(store_->pull(ref("t/b@" + b.manifest_digest), {}));
  EXPECT_TRUE(store_->is_dangling(b.config_digest));
  EXPECT_FALSE(store_->is_dangling(a.config_digest));
  auto dangling = store_->list(true).value();
  ASSERT_EQ(dangling.size(), 1u);
  EXPECT_EQ(dangling[0].id, b.config_digest);
  EXPECT_EQ(dangling[0].repo_digests.size(), 1u);

  auto pruned = store_->prune(PruneOptions{}).value();
  ASSERT_EQ(pruned.removed.size(), 1u);
  EXPECT_EQ(pruned.removed[0].id, b.config_digest);
  EXPECT_EQ(pruned.items[0].untagged, ref("t/b@" + b.manifest_digest));
  EXPECT_EQ(pruned.items[1].deleted, b.config_digest);
  EXPECT_GT(pruned.space_reclaimed, 0u);
  EXPECT_TRUE(store_->inspect(a.config_digest));
}

TEST_F(ImageOpsTest, PruneAllUnusedWithFilters) {
  auto a = pull("t/a:1", {layer("a", "a")}, "keep");
  auto b = pull("t/b:1", {layer("b", "b")}, "drop");
  auto c = pull("t/c:1", {layer("c", "c")}, "drop");
  // dangling=false with a label filter: only unused images carrying the label.
  PruneOptions o;
  o.dangling_only = false;
  o.match = [](const ImageRecord& r) { return r.config.labels.count("test") && r.config.labels.at("test") == "drop"; };
  auto report = store_->prune(o, used_by(c.config_digest, false)).value();
  ASSERT_EQ(report.removed.size(), 1u);
  EXPECT_EQ(report.removed[0].id, b.config_digest);
  EXPECT_TRUE(store_->inspect(ref("t/a:1")));
  EXPECT_TRUE(store_->inspect(ref("t/c:1"))) << "in use by a (stopped) container";
  // Nothing to prune: an empty report, nothing touched.
  std::string before = index_file();
  auto none = store_->prune(PruneOptions{}).value();
  EXPECT_TRUE(none.items.empty());
  EXPECT_EQ(index_file(), before);
  // All unused, tagged or not.
  auto all = store_->prune(PruneOptions{false, {}}).value();
  EXPECT_EQ(all.removed.size(), 2u);
  EXPECT_TRUE(store_->list().value().empty());
  EXPECT_TRUE(store_->snapshots().list().value().empty());
}

// Pushes an image whose config is `config` (rootfs filled in) with one layer per spec.
std::string push_with_config(testing::FakeRegistry& reg, const std::string& repo, Json config, const std::vector<LayerSpec>& layers) {
  Manifest m;
  m.media_type = std::string(media_type::kOciManifest);
  Json diff_ids = Json::array();
  for (const auto& l : layers) {
    std::string blob = testing::build_tar(l.entries, l.compression);
    diff_ids.push_back(sha256_digest(testing::build_tar(l.entries)));
    m.layers.push_back({std::string(media_type::kOciLayerGzip), reg.add_blob(blob), static_cast<int64_t>(blob.size()), std::nullopt, {}, {}});
  }
  config["rootfs"] = {{"type", "layers"}, {"diff_ids", diff_ids}};
  config["os"] = host_platform().os;
  config["architecture"] = host_platform().architecture;
  std::string text = config.dump();
  m.config = {std::string(media_type::kOciConfig), reg.add_blob(text), static_cast<int64_t>(text.size()), std::nullopt, {}, {}};
  reg.put_manifest(repo, "1", manifest_to_json(m), std::string(media_type::kOciManifest));
  return m.config.digest;
}

TEST_F(ImageOpsTest, HistoryMatchesLayersToNonEmptyEntries) {
  Json config = {{"created", "2024-01-01T00:00:00Z"},
                 {"history",
                  {{{"created", "2024-01-01T00:00:00Z"}, {"created_by", "ADD base"}},
                   {{"created", "2024-01-02T00:00:00Z"}, {"created_by", "ENV A=1"}, {"empty_layer", true}, {"comment", "c"}},
                   {{"created", "2024-01-03T00:00:00+01:00"}, {"created_by", "RUN touch x"}}}}};
  std::string id = push_with_config(reg_, "t/h", config, {layer("base", std::string(5000, 'b')), layer("x", "")});
  ASSERT_TRUE(store_->pull(ref("t/h:1"), {}));
  auto h = store_->history(ref("t/h:1")).value();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].id, id);
  EXPECT_EQ(h[0].created_by, "RUN touch x");
  EXPECT_EQ(h[0].created, 1704236400);
  EXPECT_EQ(h[0].tags, std::vector<std::string>{ref("t/h:1")});
  EXPECT_EQ(h[1].id, "<missing>");
  EXPECT_EQ(h[1].size, 0);
  EXPECT_EQ(h[1].comment, "c");
  EXPECT_TRUE(h[1].tags.empty());
  EXPECT_EQ(h[2].created_by, "ADD base");
  EXPECT_GE(h[2].size, 5000);

  // More non-empty entries than layers: dockerd's error, not a made-up size.
  Json broken = {{"history", {{{"created_by", "a"}}, {{"created_by", "b"}}}}};
  push_with_config(reg_, "t/broken", broken, {layer("only", "1")});
  ASSERT_TRUE(store_->pull(ref("t/broken:1"), {}));
  auto err = store_->history(ref("t/broken:1"));
  ASSERT_FALSE(err);
  EXPECT_EQ(err.error().message, "too many non-empty layers in History section");
  // No history at all: no entries (as dockerd).
  push_with_config(reg_, "t/none", Json::object(), {layer("n", "1")});
  ASSERT_TRUE(store_->pull(ref("t/none:1"), {}));
  EXPECT_TRUE(store_->history(ref("t/none:1")).value().empty());
}

TEST_F(ImageOpsTest, DistributionReportsDescriptorAndPlatforms) {
  auto a = testing::push_image(reg_, "t/d", "1", {layer("a", "a")});
  auto info = store_->distribution(ref("t/d:1"), {});
  ASSERT_TRUE(info) << info.error().what();
  EXPECT_EQ(info->digest, a.manifest_digest);
  EXPECT_EQ(info->media_type, media_type::kOciManifest);
  EXPECT_EQ(info->size, static_cast<int64_t>(a.manifest.size()));
  ASSERT_EQ(info->platforms.size(), 1u);
  EXPECT_EQ(info->platforms[0].os, host_platform().os);
  EXPECT_EQ(info->platforms[0].architecture, host_platform().architecture);
  EXPECT_TRUE(store_->list().value().empty()) << "nothing is pulled";

  Index idx;
  idx.media_type = std::string(media_type::kOciIndex);
  idx.manifests.push_back({std::string(media_type::kOciManifest), a.manifest_digest, static_cast<int64_t>(a.manifest.size()),
                           Platform{"linux", "arm64", "v8", ""}, {}, {}});
  idx.manifests.push_back({std::string(media_type::kOciManifest), a.manifest_digest, static_cast<int64_t>(a.manifest.size()),
                           Platform{"linux", "s390x", "", ""}, {}, {}});
  std::string body = index_to_json(idx);
  std::string index_digest = reg_.put_manifest("t/d", "multi", body, std::string(media_type::kOciIndex));
  auto multi = store_->distribution(ref("t/d:multi"), {}).value();
  EXPECT_EQ(multi.digest, index_digest);
  EXPECT_EQ(multi.media_type, media_type::kOciIndex);
  ASSERT_EQ(multi.platforms.size(), 2u);
  EXPECT_EQ(multi.platforms[0].architecture, "arm64");
  EXPECT_EQ(multi.platforms[0].variant, "v8");
  EXPECT_EQ(multi.platforms[1].architecture, "s390x");

  EXPECT_EQ(store_->distribution(ref("t/d:nope"), {}).error().code, Errc::not_found);
  EXPECT_EQ(store_->distribution("Bad Name", {}).error().code, Errc::invalid_argument);
  EXPECT_EQ(store_->distribution("sha256:" + std::string(64, 'a'), {}).error().message, "no manifest found for full image ID");
}

TEST_F(ImageOpsTest, SaveWritesLegacyRepositoriesFile) {
  auto a = pull("t/a:1", {layer("base", "x"), layer("top", "a")});
  UniqueFd fd(::memfd_create("save", MFD_CLOEXEC));
  auto ids = store_->save_fd({ref("t/a:1")}, fd.get());
  ASSERT_TRUE(ids) << ids.error().what();
  EXPECT_EQ(*ids, std::vector<std::string>{a.config_digest});
  ::lseek(fd.get(), 0, SEEK_SET);
  struct archive* ar = archive_read_new();
  archive_read_support_format_tar(ar);
  ASSERT_EQ(archive_read_open_fd(ar, fd.get(), 65536), ARCHIVE_OK);
  struct archive_entry* e;
  std::string repositories;
  std::vector<std::string> names;
  while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
    names.push_back(archive_entry_pathname(e));
    if (names.back() != "repositories") continue;
    repositories.resize(static_cast<size_t>(archive_entry_size(e)));
    archive_read_data(ar, repositories.data(), repositories.size());
  }
  archive_read_free(ar);
  ASSERT_FALSE(repositories.empty()) << "entries: " << ::testing::PrintToString(names);
  Json repos = Json::parse(repositories);
  EXPECT_EQ(repos[ref("t/a")]["1"], std::string(digest_hex(a.diff_ids[1])));
}

}  // namespace
}  // namespace berth::agent::image
