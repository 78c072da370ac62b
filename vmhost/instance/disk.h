// The data disk: a sparse raw image the guest formats on first boot.
#pragma once

#include <cstdint>
#include <string>

#include "berth/common/result.h"

namespace berth::instance {

// Creates `path` with ftruncate (no blocks allocated) or grows an existing one to `size`.
// Never shrinks: a smaller size than the file is an error.
Status ensure_disk(const std::string& path, uint64_t size);

}  // namespace berth::instance
