// Content-addressed blob store: <root>/blobs/sha256/<hex>. Blobs are written to
// <root>/ingest/ while being hashed and appear under blobs/ only after verification, by an
// atomic rename, so a reader never sees a partial or wrong blob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "digest.h"

namespace berth::agent::image {

class ContentStore;

// One blob being written. With a known digest the partial data lives in ingest/<hex> under an
// exclusive lock and is kept on failure, so the next attempt resumes at offset() (HTTP Range).
class BlobWriter {
 public:
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  ~BlobWriter();

  // The blob was already committed (possibly by a concurrent writer); commit() is a no-op.
  bool exists() const { return exists_; }
  // Bytes already held, where a resumed download continues.
  int64_t offset() const { return offset_; }
  Status write(const void* data, size_t size);
  // Drops what was written so far (a server ignored the Range request).
  Status restart();
  // Verifies size and digest, then renames into blobs/. On mismatch the partial data is
  // discarded and the error is Errc::protocol naming both digests.
  Result<std::string> commit();
  // Removes the partial data instead of keeping it for a resume.
  void discard();

 private:
  friend class ContentStore;
  BlobWriter(const ContentStore& store, std::string expected, int64_t expected_size);

  const ContentStore& store_;
  std::string expected_;
  int64_t expected_size_ = -1;
  std::string temp_path_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t offset_ = 0;
  bool exists_ = false;
  bool done_ = false;
};

class ContentStore {
 public:
  // Creates the directory layout under `root` and removes stale anonymous temp files.
  static Result<std::unique_ptr<ContentStore>> open(std::string root);

  const std::string& root() const { return root_; }
  std::string blob_path(std::string_view digest) const;
  bool has(std::string_view digest) const;
  Result<int64_t> size(std::string_view digest) const;
  Result<UniqueFd> open_blob(std::string_view digest) const;
  // Reads a small blob (manifest, config) and re-verifies it, refusing anything above max_size.
  Result<std::string> read(std::string_view digest, size_t max_size = 16 << 20) const;
  // Stores `data`; when `expected` is non-empty it must match. Returns the digest.
  Result<std::string> put(std::string_view data, std::string_view expected = {});
  // Starts a streaming write. `expected` may be empty (digest computed, e.g. docker load);
  // `expected_size` < 0 means unknown.
  Result<std::unique_ptr<BlobWriter>> writer(std::string_view expected = {}, int64_t expected_size = -1) const;
  Status remove(std::string_view digest);
  Result<std::vector<std::string>> list() const;
  // Sum of blob sizes on disk.
  Result<uint64_t> disk_usage() const;
  // Removes partial downloads nobody is writing (prune).
  Status remove_stale_ingests();

 private:
  friend class BlobWriter;
  explicit ContentStore(std::string root) : root_(std::move(root)) {}
  std::string ingest_dir() const { return root_ + "/ingest"; }
  std::string blobs_dir() const { return root_ + "/blobs/sha256"; }

  std::string root_;
};

}  // namespace berth::agent::image
