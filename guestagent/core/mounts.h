// HostConfig.Binds, HostConfig.Mounts, HostConfig.Tmpfs and the image's VOLUMEs turned into
// the container's mount points, with dockerd's validation and messages. Parsing is pure;
// materialize_mounts() then creates what must exist (named and anonymous volumes, missing -v
// host directories) once the whole create request is known to be valid.
#pragma once

#include <string>
#include <vector>

#include "berth/common/result.h"
#include "container.h"
#include "container_config.h"
#include "volumes.h"

namespace berth::agent {

// Validates and collects every mount. Volume mount points with an empty `name` are anonymous
// volumes still to be created. `image_volumes` are the image's and Config.Volumes' paths.
// Checks that bind sources given with Mounts exist (binds from Binds are created, as dockerd
// does).
Result<std::vector<MountPoint>> parse_mounts(const HostConfig& host, const std::vector<std::string>& image_volumes);

// One "src:dst[:mode]" entry of Binds.
Result<MountPoint> parse_bind(const std::string& spec);

// Creates volumes (named ones if missing, anonymous ones with fresh names) and missing bind
// sources from Binds. On failure, volumes created here are removed again.
Status materialize_mounts(std::vector<MountPoint>& mounts, VolumeStore& volumes, const std::string& container_id);

// Mount options for a HostConfig.Tmpfs value ("size=64m,mode=1777"): validated, with
// dockerd's defaults (noexec,nosuid,nodev).
Result<std::string> tmpfs_options(const std::string& value, const std::string& destination);

}  // namespace berth::agent
