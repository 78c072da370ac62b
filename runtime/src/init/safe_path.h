// Resolution of paths inside a container rootfs that can never leave it, whatever symlinks the
// image or a running container planted. Allocation-free: used between clone() and execve().
#pragma once

namespace berth::runtime {

enum class TargetKind { directory, file };

// Opens `path` (absolute or relative, interpreted inside `root_fd`) as O_PATH, creating missing
// components (directories, and a final empty file when kind == file). Every step is resolved with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so ".." and symlinks are clamped to the root.
// Returns the fd or -errno.
int open_in_root(int root_fd, const char* path, TargetKind kind, bool create, int mode = 0755);

// Opens an existing path inside root with the given flags (O_PATH when flags == 0). -errno on failure.
int resolve_in_root(int root_fd, const char* path, int flags);

}  // namespace berth::runtime
