// The persisted image index: which images exist (id = config digest, with their manifest and
// layers) and which references (name:tag and name@digest) point at them. Stored as JSON and
// replaced atomically, so a crash leaves the previous or the new index, never a torn one.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "platform.h"

namespace berth::agent::image {

struct LayerRecord {
  std::string digest;      // blob in the content store
  std::string media_type;
  int64_t size = 0;        // blob size
  std::string diff_id;
  std::string chain_id;    // snapshot
};

struct ImageEntry {
  std::string id;               // config digest
  std::string manifest_digest;  // the platform's image manifest
  std::string index_digest;     // the index/list it was chosen from, if any
  std::string manifest_media_type;
  std::string config_media_type;
  std::vector<LayerRecord> layers;
  Platform platform;
  int64_t added = 0;            // unix seconds it entered the store
};

struct ImageIndex {
  std::map<std::string, ImageEntry> images;  // id → entry
  std::map<std::string, std::string> refs;   // normalised reference → id

  // Missing file: empty index.
  static Result<ImageIndex> load(const std::string& path);
  Status save(const std::string& path) const;

  // References pointing at `id`, sorted.
  std::vector<std::string> refs_of(const std::string& id) const;
};

}  // namespace berth::agent::image
