// The file systems every Linux userland expects, mounted by PID 1 because nothing else
// will: /proc, /sys, /dev (devtmpfs) with /dev/pts and /dev/shm, /run, /tmp, and cgroup2 at
// /sys/fs/cgroup with every controller enabled for children (containers get their own
// cgroups below the root).
#pragma once

#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::init {

// Essential: an error here leaves nothing to run containers with.
Status mount_system();

// Writes "+cpu +memory ..." for every controller in cgroup.controllers to the root's
// cgroup.subtree_control. Returns the controllers enabled.
Result<std::vector<std::string>> enable_cgroup_controllers(const std::string& root = "/sys/fs/cgroup");

// The initramfs root (the kernel's "rootfs" mount) is the root of the mount tree, and
// pivot_root(2) refuses to move it (EINVAL), which every container start needs. Bind-mounting
// it onto itself and chroot-ing into the bind gives a root mount that has a parent, so
// pivot_root works and runtimes need no --no-pivot (chroot + MS_MOVE, which leaves the old
// root reachable from containers). Unlike switch_root onto a tmpfs copy it copies nothing:
// the bind shares the rootfs's files, costs microseconds and no memory.
Status make_root_pivotable();

}  // namespace berth::agent::init
