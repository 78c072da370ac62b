#include "init/system_mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "berth/common/fs.h"

namespace berth::agent::init {

namespace {

struct SystemMount {
  const char* source;
  const char* target;
  const char* type;
  unsigned long flags;
  const char* data;
  mode_t mode;
};

constexpr unsigned long kNoSuidDevExec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

const SystemMount kMounts[] = {
    {"proc", "/proc", "proc", kNoSuidDevExec, nullptr, 0555},
    {"sysfs", "/sys", "sysfs", kNoSuidDevExec, nullptr, 0555},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755},
    // gid 5 is "tty" on Debian; ptmxmode lets unprivileged processes open /dev/pts/ptmx.
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,gid=5,mode=620,ptmxmode=0666", 0755},
    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755},
    {"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
    // nsdelegate: container cgroup namespaces are delegation boundaries (as systemd mounts it).
    {"cgroup2", "/sys/fs/cgroup", "cgroup2", kNoSuidDevExec, "nsdelegate", 0555},
};

Status mount_one(const SystemMount& m) {
  if (::mkdir(m.target, m.mode) < 0 && errno != EEXIST) return sys_error(std::string("mkdir ") + m.target);
  if (::mount(m.source, m.target, m.type, m.flags, m.data) == 0) return ok();
  // nsdelegate is newer than some kernels; cgroup2 without it still works.
  if (errno == EINVAL && std::strcmp(m.type, "cgroup2") == 0 &&
      ::mount(m.source, m.target, m.type, m.flags, nullptr) == 0)
    return ok();
  return sys_error(std::string("mount ") + m.type + " on " + m.target);
}

}  // namespace

Status mount_system() {
  for (const auto& m : kMounts) BERTH_TRY(mount_one(m));
  // What devtmpfs leaves to userspace (udev would make these).
  const std::pair<const char*, const char*> links[] = {
      {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
      {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"},
  };
  for (const auto& [target, link] : links) {
    if (std::strcmp(link, "/dev/ptmx") == 0) ::unlink(link);  // devtmpfs's node: the pts instance's is ours
    if (::symlink(target, link) < 0 && errno != EEXIST) return sys_error(std::string("symlink ") + link);
  }
  return ok();
}

Result<std::vector<std::string>> enable_cgroup_controllers(const std::string& root) {
  std::string available = BERTH_TRY(fs::read_file(root + "/cgroup.controllers"));
  std::vector<std::string> names;
  std::istringstream in(available);
  std::string name, all;
  while (in >> name) {
    names.push_back(name);
    all += (all.empty() ? "+" : " +") + name;
  }
  if (names.empty()) return names;
  if (fs::write_file(root + "/cgroup.subtree_control", all)) return names;
  // One write is all-or-nothing; enable one by one so that one refusal costs only itself.
  std::vector<std::string> enabled;
  for (const auto& n : names) {
    if (fs::write_file(root + "/cgroup.subtree_control", "+" + n)) enabled.push_back(n);
  }
  return enabled;
}

Status make_root_pivotable() {
  const char* dir = "/.berth-root";
  if (::mkdir(dir, 0700) < 0 && errno != EEXIST) return sys_error("mkdir /.berth-root");
  if (::mount("/", dir, nullptr, MS_BIND, nullptr) < 0) return sys_error("bind-mount / on /.berth-root");
  if (::chdir(dir) < 0) return sys_error("chdir /.berth-root");
  if (::mount(dir, "/", nullptr, MS_MOVE, nullptr) < 0) return sys_error("move /.berth-root to /");
  if (::chroot(".") < 0) return sys_error("chroot into the bind-mounted root");
  if (::chdir("/") < 0) return sys_error("chdir /");
  // The bind shows the same directory tree, with the now-empty mount point in it.
  ::rmdir(dir);
  return ok();
}

}  // namespace berth::agent::init
