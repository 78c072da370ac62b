// Unpacked layers: <root>/<chainid-hex>/fs, one per chain id, shared by every image that has
// the same layers below. A snapshot is unpacked into a temporary directory and renamed into
// place only when complete and verified, so an existing snapshot is always whole.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::image {

struct SnapshotInfo {
  std::string chain_id;
  std::string diff_id;
  std::string parent;      // chain id of the layer below, empty for the base layer
  uint64_t size = 0;       // apparent size of the unpacked files
  uint64_t diff_size = 0;  // length of the uncompressed layer tar
};

class SnapshotStore {
 public:
  // Removes leftovers of unpacks and removals a crash interrupted.
  static Result<std::unique_ptr<SnapshotStore>> open(std::string root);

  const std::string& root() const { return root_; }
  std::string dir(const std::string& chain_id) const;
  std::string fs_path(const std::string& chain_id) const;
  bool has(const std::string& chain_id) const;
  Result<SnapshotInfo> info(const std::string& chain_id) const;
  // Unpacks the layer in `layer_fd` as snapshot `chain_id` unless it exists. Concurrent
  // callers for one chain id share a single unpack.
  Result<SnapshotInfo> create(const std::string& chain_id, const std::string& parent, const std::string& diff_id,
                              int layer_fd);
  Status remove(const std::string& chain_id);
  Result<std::vector<std::string>> list() const;

 private:
  explicit SnapshotStore(std::string root) : root_(std::move(root)) {}

  std::string root_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> unpacking_;
};

}  // namespace berth::agent::image
