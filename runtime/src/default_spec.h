#pragma once
#include "berth/common/json.h"
namespace berth::runtime {
// The config.json `spec` writes: runc's defaults (sh in a busybox-style rootfs, default caps,
// masked and read-only paths), so bundles made by either runtime look alike.
OrderedJson default_spec(bool rootless);
}  // namespace berth::runtime
