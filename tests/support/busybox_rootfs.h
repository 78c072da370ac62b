// A minimal rootfs made from Debian's busybox-static: the image every runtime test runs.
#pragma once

#include <string>

namespace berth::test {

// Path of busybox-static, or "" if it is not installed.
std::string busybox_path();
// Populates dir with /bin/busybox and its applet links, /etc/passwd and /etc/group.
bool make_busybox_rootfs(const std::string& dir);

}  // namespace berth::test
