// Mount option strings (fstab style, plus the OCI extensions) → mount(2) flags and data.
#pragma once

#include <string>
#include <vector>

namespace berth::runtime {

struct ParsedMountOptions {
  unsigned long flags = 0;        // MS_RDONLY, MS_NOSUID, ...
  unsigned long clear = 0;        // flags explicitly turned off (rw, suid, ...)
  unsigned long propagation = 0;  // MS_SHARED | MS_REC, ...
  bool bind = false;
  bool recursive = false;
  bool idmap = false;
  std::string data;               // the rest, comma-joined, for the filesystem
};

ParsedMountOptions parse_mount_options(const std::vector<std::string>& options);

}  // namespace berth::runtime
