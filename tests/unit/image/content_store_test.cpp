#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "image/content_store.h"
#include "test_support.h"

namespace berth::agent::image {
namespace {

using testing::TempDir;

size_t ingest_files(const TempDir& dir) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir / "content/ingest")) (void)e, ++n;
  return n;
}

TEST(ContentStore, PutVerifiesAndStoresByDigest) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string data = "hello blob";
  std::string d = sha256_digest(data);
  auto got = store->put(data, d);
  ASSERT_TRUE(got) << got.error().what();
  EXPECT_EQ(*got, d);
  EXPECT_TRUE(store->has(d));
  EXPECT_EQ(testing::read_file(dir / ("content/blobs/sha256/" + std::string(digest_hex(d)))), data);
  EXPECT_EQ(store->read(d).value(), data);
  EXPECT_EQ(store->size(d).value(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(store->list().value(), std::vector<std::string>{d});
  // Without an expected digest the computed one names it.
  EXPECT_EQ(store->put("other").value(), sha256_digest("other"));
  EXPECT_EQ(ingest_files(dir), 0u);
}

TEST(ContentStore, DigestMismatchIsRefusedAndDiscarded) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string wrong = sha256_digest("something else");
  auto r = store->put("payload", wrong);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::protocol);
  EXPECT_NE(r.error().message.find("digest mismatch"), std::string::npos) << r.error().message;
  EXPECT_FALSE(store->has(wrong));
  EXPECT_TRUE(store->list().value().empty());
  EXPECT_EQ(ingest_files(dir), 0u) << "the temp file of a mismatching blob must be gone";
}

TEST(ContentStore, SizeLimitStopsOversizedBlobs) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  auto w = store->writer(sha256_digest("abc"), 3).value();
  ASSERT_TRUE(w->write("ab", 2));
  auto over = w->write("cd", 2);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::protocol);
}

TEST(ContentStore, PartialIngestResumesAndBlobAppearsOnlyWhenComplete) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string data(200000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::string d = sha256_digest(data);
  {
    auto w = store->writer(d, static_cast<int64_t>(data.size())).value();
    EXPECT_EQ(w->offset(), 0);
    ASSERT_TRUE(w->write(data.data(), 70000));
    // Interrupted here: nothing visible under blobs/, the partial stays for a resume.
    EXPECT_FALSE(store->has(d));
  }
  EXPECT_FALSE(std::filesystem::exists(store->blob_path(d)));
  EXPECT_EQ(ingest_files(dir), 1u);
  {
    auto w = store->writer(d, static_cast<int64_t>(data.size())).value();
    EXPECT_EQ(w->offset(), 70000);
    ASSERT_TRUE(w->write(data.data() + 70000, data.size() - 70000));
    ASSERT_EQ(w->commit().value(), d);
  }
  EXPECT_EQ(store->read(d, 1 << 20).value(), data);
  EXPECT_EQ(ingest_files(dir), 0u);
  // Reopening the store keeps digest-named partials but drops anonymous temp files.
  {
    auto w1 = store->writer(sha256_digest("p"), 1).value();
    auto w2 = store->writer().value();
    ASSERT_TRUE(w2->write("zz", 2));
    ContentStore::open(dir / "content").value();
  }
  EXPECT_EQ(ingest_files(dir), 1u);
}

TEST(ContentStore, RestartDropsWhatWasWritten) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string d = sha256_digest("fresh");
  auto w = store->writer(d, 5).value();
  ASSERT_TRUE(w->write("stale", 5));
  ASSERT_TRUE(w->restart());
  EXPECT_EQ(w->offset(), 0);
  ASSERT_TRUE(w->write("fresh", 5));
  EXPECT_EQ(w->commit().value(), d);
}

TEST(ContentStore, ConcurrentWritersOfOneDigestProduceOneBlob) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string data(1 << 20, 'q');
  std::string d = sha256_digest(data);
  std::atomic<int> wrote{0}, skipped{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&] {
      auto w = store->writer(d, static_cast<int64_t>(data.size()));
      if (!w) return void(++failed);
      if ((*w)->exists()) return void(++skipped);
      if ((*w)->offset() != 0 && !(*w)->restart()) return void(++failed);
      for (size_t off = 0; off < data.size(); off += 4096)
        if (!(*w)->write(data.data() + off, 4096)) return void(++failed);
      if (!(*w)->commit()) return void(++failed);
      ++wrote;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(wrote, 1);
  EXPECT_EQ(skipped, 5);
  EXPECT_EQ(store->read(d, 2 << 20).value(), data);
}

TEST(ContentStore, ReadDetectsCorruptionOnDisk) {
  TempDir dir;
  auto store = ContentStore::open(dir / "content").value();
  std::string d = store->put("original").value();
  testing::write_file(store->blob_path(d), "tampered");
  auto r = store->read(d);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("corrupt"), std::string::npos);
  EXPECT_TRUE(store->remove(d));
  EXPECT_FALSE(store->has(d));
  EXPECT_EQ(store->read(d).error().code, Errc::not_found);
}

}  // namespace
}  // namespace berth::agent::image
