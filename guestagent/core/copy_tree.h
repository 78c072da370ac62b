// Copies a directory tree between two directory fds (owners, modes, times, symlinks,
// devices), without following symlinks: dockerd's copy of image content into a new volume.
#pragma once

#include "berth/common/result.h"

namespace berth::agent {

// Copies the children of `src_dir` into `dst_dir` (which should be empty) and the source
// directory's owner and mode onto `dst_dir`.
Status copy_tree(int src_dir, int dst_dir);

}  // namespace berth::agent
