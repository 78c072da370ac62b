// File-system operations that stay inside a directory: everything is relative to a directory
// fd, walked one component at a time with O_NOFOLLOW, so no symlink planted by an image can
// redirect a write or a removal outside it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::image::safefs {

// Splits a relative archive path into components. "." and empty components are dropped; "..",
// absolute paths and NUL bytes are refused (Errc::invalid_argument naming the path). An empty
// result is the root itself.
Result<std::vector<std::string>> split_relative(std::string_view path);

Result<UniqueFd> open_dir_path(const std::string& path);

// mkdir -p, then sets the mode of the last directory: image and snapshot trees hold set-id
// binaries and must not be reachable by other users of the machine.
Status ensure_dir(const std::string& path, mode_t mode);

// Opens the directory `components` below `root_fd`, refusing any component that is a symlink
// or not a directory. With `create`, missing directories are made (mode 0755, owned by the
// caller), the way tar implies parents.
Result<UniqueFd> open_dir(int root_fd, std::span<const std::string> components, bool create,
                          std::string_view display_path);

// Removes `name` in `dirfd`, recursing into directories without following symlinks. A missing
// entry is not an error.
Status remove_at(int dirfd, const std::string& name);
// Empties a directory the same way.
Status remove_children(int dirfd);

// Names in a directory ("." and ".." left out).
Result<std::vector<std::string>> list_dir(int dirfd);

// Opens `path` inside `root_fd` the way a process chrooted there would, with symlinks and ".."
// clamped to the root and magic links refused: openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS).
// Where openat2 is missing, falls back to a walk that refuses symlinks.
Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags);

// Apparent size of everything below a directory (st_size of non-directories, hard links
// counted once), the figure Docker reports as an image's Size.
Result<uint64_t> disk_usage(int dirfd);

}  // namespace berth::agent::image::safefs
