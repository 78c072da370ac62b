// Root filesystem assembly inside the container's mount namespace. Every mount target is
// resolved inside the rootfs (safe_path) and mounted through its /proc/self/fd path, so a
// symlink planted by an image or a running container can never redirect a mount to the host.
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "init/init_internal.h"
#include "init/safe_path.h"
#include "init/sys.h"

namespace berth::runtime::init {

namespace {

int g_root_fd = -1;  // the rootfs before pivot_root; "/" after

UniqueFd target_fd(const InitPlan& plan, const char* destination, TargetKind kind) {
  int fd = open_in_root(g_root_fd, destination, kind, /*create=*/true);
  if (fd < 0) fail(plan, "resolve mount target", -fd, destination);
  return UniqueFd(fd);
}

// Flags that a bind remount must keep because the kernel locks them (user namespaces) or the
// source carries them; reading them avoids EPERM on remount.
unsigned long locked_flags(const char* path) {
  struct statvfs sv {};
  if (::statvfs(path, &sv) < 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

void mount_idmapped(const InitPlan& plan, const MountPlan& m, int target) {
  unsigned int tree_flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m.recursive ? AT_RECURSIVE : 0);
  UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, m.source.c_str(), tree_flags)));
  if (!tree) fail(plan, "open_tree for idmapped mount", errno, m.source.c_str());
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(m.idmap_userns_fd);
  if (m.flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | (m.recursive ? AT_RECURSIVE : 0), &attr,
                sizeof attr) < 0)
    fail(plan, "mount_setattr idmap", errno, m.destination.c_str());
  if (::syscall(SYS_move_mount, tree.get(), "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail(plan, "move_mount idmapped", errno, m.destination.c_str());
}

void mount_one(const InitPlan& plan, const MountPlan& m) {
  TargetKind kind = m.target_is_dir ? TargetKind::directory : TargetKind::file;
  UniqueFd target = target_fd(plan, m.destination.c_str(), kind);
  char path[64];
  sys::fd_path(path, sizeof path, target.get());

  if (m.idmap_userns_fd >= 0) {
    mount_idmapped(plan, m, target.get());
  } else if (m.bind) {
    unsigned long flags = MS_BIND | (m.recursive ? MS_REC : 0);
    if (::mount(m.source.c_str(), path, nullptr, flags, nullptr) < 0)
      fail(plan, "bind mount", errno, m.destination.c_str());
  } else {
    if (::mount(m.source.c_str(), path, m.type.c_str(), m.flags, m.data.empty() ? nullptr : m.data.c_str()) < 0) {
      if (m.sysfs_fallback && (errno == EPERM || errno == EACCES)) {
        if (::mount("/sys", path, nullptr, MS_BIND | MS_REC, nullptr) < 0)
          fail(plan, "bind /sys (sysfs fallback)", errno, m.destination.c_str());
      } else {
        fail(plan, "mount", errno, m.destination.c_str());
      }
    }
  }

  // The fd still names the directory under the new mount; re-resolve to act on the mount itself.
  bool remount = m.bind && m.idmap_userns_fd < 0 && (m.flags & ~(MS_REC | MS_BIND)) != 0;
  if (remount || m.propagation) {
    UniqueFd top = target_fd(plan, m.destination.c_str(), kind);
    char top_path[64];
    sys::fd_path(top_path, sizeof top_path, top.get());
    if (remount) {
      unsigned long flags = MS_BIND | MS_REMOUNT | m.flags | (locked_flags(top_path) & ~MS_RDONLY);
      if (::mount(nullptr, top_path, nullptr, flags, nullptr) < 0)
        fail(plan, "remount bind", errno, m.destination.c_str());
    }
    if (m.propagation && ::mount(nullptr, top_path, nullptr, m.propagation, nullptr) < 0)
      fail(plan, "set mount propagation", errno, m.destination.c_str());
  }
}

void make_device(const InitPlan& plan, const DevicePlan& d) {
  bool is_dir_parent_ok = true;
  (void)is_dir_parent_ok;
  if (plan.in_user_ns) {
    // mknod is not permitted in a user namespace: bind the host's node over an empty file.
    UniqueFd target = target_fd(plan, d.path.c_str(), TargetKind::file);
    char path[64];
    sys::fd_path(path, sizeof path, target.get());
    if (::mount(d.path.c_str(), path, nullptr, MS_BIND, nullptr) < 0) fail(plan, "bind device", errno, d.path.c_str());
    return;
  }
  // Create the node in its safely resolved parent directory.
  const char* slash = std::strrchr(d.path.c_str(), '/');
  char parent_path[PATH_MAX];
  size_t plen = static_cast<size_t>(slash - d.path.c_str());
  if (plen >= sizeof parent_path) fail(plan, "device path too long", ENAMETOOLONG, d.path.c_str());
  std::memcpy(parent_path, d.path.c_str(), plen);
  parent_path[plen] = '\0';
  int pfd = open_in_root(g_root_fd, plen ? parent_path : "/", TargetKind::directory, true);
  if (pfd < 0) fail(plan, "resolve device parent", -pfd, d.path.c_str());
  UniqueFd parent(pfd);
  const char* name = slash + 1;
  ::unlinkat(parent.get(), name, 0);
  if (::mknodat(parent.get(), name, d.mode, d.rdev) < 0) fail(plan, "mknod", errno, d.path.c_str());
  if (::fchownat(parent.get(), name, d.uid, d.gid, AT_SYMLINK_NOFOLLOW) < 0) fail(plan, "chown device", errno, d.path.c_str());
  // mknod honours the umask; the spec's mode is the final one.
  if (::fchmodat(parent.get(), name, d.mode & 07777, 0) < 0) fail(plan, "chmod device", errno, d.path.c_str());
}

void make_dev_symlinks(const InitPlan& plan) {
  static const char* const links[][2] = {
      {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
  };
  int dfd = resolve_in_root(g_root_fd, "/dev", O_DIRECTORY | O_RDONLY);
  if (dfd < 0) fail(plan, "open /dev", -dfd);
  UniqueFd dev(dfd);
  for (const auto& link : links) {
    if (::symlinkat(link[0], dev.get(), link[1]) < 0 && errno != EEXIST) fail(plan, "symlink in /dev", errno, link[1]);
  }
  // /dev/ptmx must be the container's own devpts instance.
  struct stat st {};
  if (::fstatat(dev.get(), "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat("pts/ptmx", dev.get(), "ptmx") < 0) fail(plan, "symlink /dev/ptmx", errno);
  }
}

}  // namespace

void setup_rootfs(InitPlan& plan) noexcept {
  // Stop our mounts from propagating back to the host before touching anything.
  if (::mount(nullptr, "/", nullptr, plan.rootfs_propagation & (MS_SLAVE | MS_PRIVATE) ? plan.rootfs_propagation : MS_REC | MS_SLAVE,
              nullptr) < 0)
    fail(plan, "make / private", errno);
  // pivot_root needs the new root to be a mount point.
  if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
    fail(plan, "bind rootfs", errno, plan.rootfs.c_str());
  g_root_fd = ::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_root_fd < 0) fail(plan, "open rootfs", errno, plan.rootfs.c_str());

  for (const auto& m : plan.mounts) mount_one(plan, m);
  if (plan.create_default_devices) {
    for (const auto& d : plan.devices) make_device(plan, d);
    make_dev_symlinks(plan);
  } else {
    for (const auto& d : plan.devices)
      if (!d.is_default) make_device(plan, d);
  }
}

void enter_rootfs(InitPlan& plan) noexcept {
  if (::fchdir(g_root_fd) < 0) fail(plan, "chdir rootfs", errno);
  if (plan.no_pivot) {
    if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) fail(plan, "move rootfs", errno);
    if (::chroot(".") < 0) fail(plan, "chroot", errno);
  } else {
    // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only ours.
    if (sys::pivot_root(".", ".") < 0) fail(plan, "pivot_root", errno);
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) fail(plan, "make old root slave", errno);
    if (::umount2(".", MNT_DETACH) < 0) fail(plan, "detach old root", errno);
  }
  if (::chdir("/") < 0) fail(plan, "chdir /", errno);
  UniqueFd old(g_root_fd);
  g_root_fd = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (g_root_fd < 0) fail(plan, "open new root", errno);
}

namespace {

// /dev/null used for masking must really be the null device: a container that replaced it with
// a symlink or another node must not be able to turn masking into a bind of its choice.
int open_verified_null(const InitPlan& plan) {
  int fd = resolve_in_root(g_root_fd, "/dev/null", O_PATH | O_NOFOLLOW);
  if (fd < 0) fail(plan, "open /dev/null for masking", -fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    UniqueFd discard(fd);
    fail(plan, "/dev/null is not the null device; refusing to mask with it", EPERM);
  }
  return fd;
}

void mask_path(const InitPlan& plan, const char* p, int null_fd) {
  int fd = resolve_in_root(g_root_fd, p, O_PATH | O_NOFOLLOW);
  if (fd == -ENOENT) return;
  if (fd < 0) fail(plan, "resolve masked path", -fd, p);
  UniqueFd target(fd);
  struct stat st {};
  if (::fstat(target.get(), &st) < 0) fail(plan, "stat masked path", errno, p);
  if (S_ISLNK(st.st_mode)) return;  // masking a symlink would follow it
  char path[64];
  sys::fd_path(path, sizeof path, target.get());
  if (S_ISDIR(st.st_mode)) {
    if (::mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0k") < 0)
      fail(plan, "mask directory", errno, p);
  } else {
    char null_path[64];
    sys::fd_path(null_path, sizeof null_path, null_fd);
    if (::mount(null_path, path, nullptr, MS_BIND, nullptr) < 0) fail(plan, "mask file", errno, p);
  }
}

void readonly_path(const InitPlan& plan, const char* p) {
  int fd = resolve_in_root(g_root_fd, p, O_PATH);
  if (fd == -ENOENT) return;
  if (fd < 0) fail(plan, "resolve readonly path", -fd, p);
  UniqueFd target(fd);
  char path[64];
  sys::fd_path(path, sizeof path, target.get());
  if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) < 0) fail(plan, "bind readonly path", errno, p);
  UniqueFd top(resolve_in_root(g_root_fd, p, O_PATH));
  if (!top) fail(plan, "re-resolve readonly path", errno, p);
  sys::fd_path(path, sizeof path, top.get());
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags(path);
  if (::mount(nullptr, path, nullptr, flags | MS_REC, nullptr) < 0) fail(plan, "remount readonly path", errno, p);
}

void write_sysctl(const InitPlan& plan, const std::string& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) fail(plan, "open sysctl", errno, path.c_str());
  if (!sys::write_all(fd.get(), value.data(), value.size())) fail(plan, "write sysctl", errno, path.c_str());
}

}  // namespace

void finish_rootfs(InitPlan& plan) noexcept {
  // Before /proc/sys becomes read-only.
  for (const auto& [path, value] : plan.sysctl) write_sysctl(plan, path, value);
  if (!plan.masked_paths.empty()) {
    UniqueFd null_fd(open_verified_null(plan));
    for (const auto& p : plan.masked_paths) mask_path(plan, p.c_str(), null_fd.get());
  }
  for (const auto& p : plan.readonly_paths) readonly_path(plan, p.c_str());
  if (plan.readonly_root) {
    unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY | locked_flags("/");
    if (::mount(nullptr, "/", nullptr, flags, nullptr) < 0) fail(plan, "remount / read-only", errno);
  }
  if (plan.rootfs_propagation & (MS_SHARED | MS_UNBINDABLE | MS_PRIVATE)) {
    if (::mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) < 0) fail(plan, "set rootfs propagation", errno);
  }
  UniqueFd root(g_root_fd);
  g_root_fd = -1;
}

}  // namespace berth::runtime::init
