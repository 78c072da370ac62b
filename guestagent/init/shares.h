// Host folders: each berth.mount=TAG:/abs/path[:ro] is a virtiofs device mounted at the same
// absolute path, so `docker run -v "$PWD:/src"` finds $PWD in the guest. A share that fails
// is reported and skipped; the rest of the VM does not depend on it.
#pragma once

#include <string>
#include <vector>

#include "berth/common/json.h"
#include "init/cmdline.h"

namespace berth::agent::init {

struct ShareStatus {
  ShareSpec spec;
  bool mounted = false;
  std::string error;
  Json to_json() const;
};

std::vector<ShareStatus> mount_shares(const std::vector<ShareSpec>& shares);

}  // namespace berth::agent::init
