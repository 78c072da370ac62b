// How manager.cpp hands a resolved cgroup to the version-specific managers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"

namespace berth::runtime::cgroup::detail {

// One mounted v1 hierarchy.
struct Hierarchy {
  std::string name;   // directory name under the mountpoint: "memory", "cpu,cpuacct", "systemd"
  std::string mount;  // mountpoint + "/" + name
  std::string path;   // the container's cgroup inside it, "/berth/abc"

  std::string dir() const;
  bool has(std::string_view controller) const;  // "cpu" is in "cpu,cpuacct"
};

// One planned write. apply() plans every write first, so invalid values and unsupported
// fields are reported before anything changes.
struct Write {
  std::string file;   // relative to the cgroup directory (v2) or hierarchy cgroup (v1)
  std::string value;
  std::string field;  // "linux.resources.memory.limit", for errors
};

std::unique_ptr<Manager> make_v2(std::string mount, std::string path, Options options);
std::unique_ptr<Manager> make_v1(std::vector<Hierarchy> hierarchies, Options options);

}  // namespace berth::runtime::cgroup::detail
