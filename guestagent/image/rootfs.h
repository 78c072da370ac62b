// Container root file systems: an overlayfs of an image's snapshots (lowerdir = snapshots,
// top first) with a per-container upper/work under <state-root>/containers/<id>/, or a plain
// copy where overlayfs is unavailable.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::image {

enum class RootfsMode { overlay, copy };

struct RootfsOptions {
  // Copy even if overlayfs works (tests, and file systems overlay refuses as upper).
  bool force_copy = false;
};

struct Rootfs {
  std::string path;           // what the runtime spec's root.path gets
  std::string container_dir;  // <state-root>/containers/<id>
  RootfsMode mode = RootfsMode::overlay;

  // Unmounts, keeping the container's changes (container stopped).
  Status unmount() const;
  // Unmounts and deletes the container's directory with its changes (container removed).
  Status remove() const;
};

// Whether the running kernel offers overlayfs (/proc/filesystems).
bool overlay_available();

// In the VM the overlay module may still be loading when the Docker API starts (init/pid1.h):
// mount_rootfs calls `wait` first, so a container is never put in copy mode for good only
// because it was created a moment too early. Process-wide; unset (native mode) means no wait.
void set_rootfs_gate(std::function<void()> wait);

// Mounts (or re-mounts after unmount) the rootfs of container `id`. `layer_dirs` are snapshot
// directories bottom to top. Calling it again while mounted returns the existing mount.
Result<Rootfs> mount_rootfs(const std::string& state_root, const std::string& id,
                            const std::vector<std::string>& layer_dirs, const RootfsOptions& options = {});
// The rootfs of an existing container directory, mounted or not (after an agent restart).
Result<Rootfs> open_rootfs(const std::string& state_root, const std::string& id);
// Snapshot directories recorded for every container directory, so image GC keeps them.
Result<std::vector<std::string>> rootfs_layer_dirs_in_use(const std::string& state_root);

}  // namespace berth::agent::image
