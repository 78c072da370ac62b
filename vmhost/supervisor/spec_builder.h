// An instance's VmSpec: its config, the guest image and the instance's files. The backend
// completes it with what it decides at start (acceleration, vsock transport).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "image/guest_image.h"
#include "instance/config.h"
#include "instance/paths.h"
#include "vm_spec.h"

namespace berth::supervisor {

// virtiofs tag of mount i ("berth0", "berth1", ...).
std::string mount_tag(size_t index);

// berth's guest parameters (guestagent/init/cmdline.h): `berth.time=SECONDS.NANOS`, the
// host's clock at boot, so the guest's clock is right before the first POST /time; and
// `berth.mount=TAG:/abs/path[:ro]` per mount (the agent mounts each tag at the same
// absolute path), in double quotes when the path has spaces, as the kernel splits words.
std::string guest_params(const std::vector<VmMountSpec>& mounts, std::chrono::system_clock::time_point now);

VmSpec build_spec(const instance::Config& config, const image::GuestImage& image, const instance::Paths& paths,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace berth::supervisor
