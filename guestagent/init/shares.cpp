#include "init/shares.h"

#include <sys/mount.h>

#include <cstring>

#include "berth/common/fs.h"
#include "init/console.h"

namespace berth::agent::init {

Json ShareStatus::to_json() const {
  Json j = {{"tag", spec.tag}, {"path", spec.path}, {"read_only", spec.read_only}, {"mounted", mounted}};
  if (!error.empty()) j["error"] = error;
  return j;
}

std::vector<ShareStatus> mount_shares(const std::vector<ShareSpec>& shares) {
  std::vector<ShareStatus> out;
  for (const auto& spec : shares) {
    ShareStatus st;
    st.spec = spec;
    if (auto made = fs::mkdir_p(spec.path, 0755); !made) {
      st.error = made.error().what();
    } else if (::mount(spec.tag.c_str(), spec.path.c_str(), "virtiofs", spec.read_only ? MS_RDONLY : 0, nullptr) < 0) {
      int e = errno;
      // virtiofs refuses a tag no device carries with EINVAL (and logs "tag <x> not found").
      st.error = std::string("mount: ") + std::strerror(e) +
                 (e == EINVAL ? " (is there a virtiofs device with tag \"" + spec.tag + "\"?)" : "");
    } else {
      st.mounted = true;
    }
    if (st.mounted) {
      logger()->info("share {} mounted at {}{}", spec.tag, spec.path, spec.read_only ? " (read-only)" : "");
    } else {
      logger()->error("share {} at {} failed: {}; continuing without it", spec.tag, spec.path, st.error);
    }
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace berth::agent::init
