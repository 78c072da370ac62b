// Applies one layer tar to a directory, as an overlayfs lower layer: OCI whiteouts become
// 0:0 character devices, opaque markers become trusted.overlay.opaque=y.
//
// libarchive only parses; every file-system change is made here with *at() calls relative to
// a directory fd reached by an O_NOFOLLOW walk, so an entry can never write outside the
// target. Entries with "..", absolute paths, a symlink in their parent path, a hard link
// leaving the layer, or whiteouts of "."/".." fail the whole layer.
#pragma once

#include <cstdint>
#include <string>

#include "berth/common/result.h"

namespace berth::agent::image {

struct UnpackOptions {
  // Apply owners from the tar. Needs CAP_CHOWN; defaults to "are we root".
  bool chown;
  // When set, the uncompressed stream's sha256 must equal it (the config's rootfs.diff_ids).
  std::string expected_diff_id;

  UnpackOptions();
};

struct UnpackResult {
  std::string diff_id;     // sha256 of the uncompressed tar
  uint64_t diff_size = 0;  // length of the uncompressed tar
  uint64_t entries = 0;
};

// Reads the (possibly compressed) layer from `layer_fd` and applies it to the directory
// `root_fd`. On error the directory may hold part of the layer and must be discarded; nothing
// outside it has been touched.
Result<UnpackResult> apply_layer(int layer_fd, int root_fd, const UnpackOptions& options = {});

}  // namespace berth::agent::image
