#include "rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <span>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "berth/common/log.h"
#include "safe_fs.h"

namespace berth::agent::image {

namespace {

constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";
// Mount data is one page; the kernel rejects anything longer.
constexpr size_t kMaxMountData = 4095;

Status validate_id(const std::string& id) {
  bool okchars = !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
  if (!okchars || id == "." || id == "..")
    return make_error(Errc::invalid_argument, "invalid container id \"" + id + "\"");
  return ok();
}

std::string container_dir(const std::string& state_root, const std::string& id) {
  return state_root + "/containers/" + id;
}

bool is_mountpoint(const std::string& path) {
  struct stat self, parent;
  if (::stat(path.c_str(), &self) < 0) return false;
  if (::stat((path + "/..").c_str(), &parent) < 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

// Runs mount(2) from `cwd` in a child, so relative lowerdirs keep the data under a page
// without changing the cwd of this multi-threaded process.
Status mount_from(const std::string& cwd, const std::string& target, const std::string& data) {
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork for overlay mount");
  if (pid == 0) {
    if (::chdir(cwd.c_str()) < 0) ::_exit(errno);
    if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0) ::_exit(errno);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error("wait for overlay mount");
  }
  if (!WIFEXITED(status)) return make_error(Errc::internal, "overlay mount helper died");
  if (WEXITSTATUS(status) != 0) return sys_error("mount overlay at " + target, WEXITSTATUS(status));
  return ok();
}

Status mount_overlay(const std::vector<std::string>& layers_bottom_up, const std::string& container_dir,
                     const std::string& target) {
  for (const auto& p : layers_bottom_up)
    if (p.find_first_of(",:\\") != std::string::npos)
      return make_error(Errc::invalid_argument, "layer path \"" + p + "\" cannot be passed to overlayfs (contains , : or \\)");
  std::string tail = ",upperdir=" + container_dir + "/upper,workdir=" + container_dir + "/work" +
                     (fs::exists("/sys/module/overlay/parameters/index") ? ",index=off" : "");
  auto build = [&](auto&& name_of) {
    std::string lower;
    for (size_t i = layers_bottom_up.size(); i-- > 0;) {
      if (!lower.empty()) lower += ":";
      lower += name_of(i);
    }
    return "lowerdir=" + lower + tail;
  };
  std::string data = build([&](size_t i) { return layers_bottom_up[i]; });
  if (data.size() <= kMaxMountData) {
    if (::mount("overlay", target.c_str(), "overlay", 0, data.c_str()) < 0) return sys_error("mount overlay at " + target);
    return ok();
  }
  // Too many layers for one page of mount options: name them through short symlinks
  // (lower/0, lower/1, …) and mount from that directory, as Docker's overlay2 does.
  std::string links = container_dir + "/lower";
  BERTH_TRY(fs::remove_all(links));
  BERTH_TRY(safefs::ensure_dir(links, 0700));
  for (size_t i = 0; i < layers_bottom_up.size(); ++i) {
    std::string link = links + "/" + std::to_string(i);
    if (::symlink(layers_bottom_up[i].c_str(), link.c_str()) < 0) return sys_error("symlink " + link);
  }
  std::string short_data = build([](size_t i) { return std::to_string(i); });
  if (short_data.size() > kMaxMountData)
    return make_error(Errc::unsupported, "image has too many layers (" + std::to_string(layers_bottom_up.size()) +
                                             ") for one overlay mount");
  return mount_from(links, target, short_data);
}

// ---- copy fallback -----------------------------------------------------------------------

struct CopyState {
  // Hard links inside one layer: source inode → destination path (root-relative).
  std::map<std::pair<dev_t, ino_t>, std::vector<std::string>> links;
};

// Best effort, like the unpacker: a file system without xattr support still gets the files.
void copy_xattrs(int src_fd, int dst_fd) {
  ssize_t len = ::flistxattr(src_fd, nullptr, 0);
  if (len <= 0) return;
  std::vector<char> names(static_cast<size_t>(len));
  len = ::flistxattr(src_fd, names.data(), names.size());
  if (len <= 0) return;
  std::vector<char> value;
  for (char* n = names.data(); n < names.data() + len; n += std::strlen(n) + 1) {
    if (std::string_view(n).starts_with("trusted.overlay.")) continue;
    ssize_t vlen = ::fgetxattr(src_fd, n, nullptr, 0);
    if (vlen < 0) continue;
    value.resize(static_cast<size_t>(vlen));
    vlen = ::fgetxattr(src_fd, n, value.data(), value.size());
    if (vlen >= 0) (void)::fsetxattr(dst_fd, n, value.data(), static_cast<size_t>(vlen), 0);
  }
}

Status copy_data(int src, int dst, const std::string& name) {
  for (;;) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
    if (n == 0) return ok();
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return sys_error("copy \"" + name + "\"");
    break;
  }
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(src, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read \"" + name + "\"");
    if (n == 0) return ok();
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(dst, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return sys_error("write \"" + name + "\"");
      off += w;
    }
  }
}

Status copy_tree(int src_dir, int dst_root, int dst_dir, std::vector<std::string>& rel, CopyState& state);

Status copy_entry(int src_dir, int dst_root, int dst_dir, const std::string& name, std::vector<std::string>& rel,
                  CopyState& state) {
  struct stat st;
  if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("stat \"" + name + "\"");
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return safefs::remove_at(dst_dir, name);  // whiteout
  struct stat cur;
  bool exists = ::fstatat(dst_dir, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(st.st_mode) && S_ISDIR(cur.st_mode))) {
    BERTH_TRY(safefs::remove_at(dst_dir, name));
    exists = false;
  }
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (S_ISDIR(st.st_mode)) {
    if (!exists && ::mkdirat(dst_dir, name.c_str(), 0700) < 0) return sys_error("mkdir \"" + name + "\"");
    int s = ::openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return sys_error("open \"" + name + "\"");
    UniqueFd sfd(s);
    int d = ::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) return sys_error("open copy of \"" + name + "\"");
    UniqueFd dfd(d);
    char v[2];
    if (::fgetxattr(sfd.get(), kOverlayOpaqueXattr.data(), v, sizeof v) == 1 && v[0] == 'y')
      BERTH_TRY(safefs::remove_children(dfd.get()));
    rel.push_back(name);
    BERTH_TRY(copy_tree(sfd.get(), dst_root, dfd.get(), rel, state));
    rel.pop_back();
    if (::fchown(dfd.get(), st.st_uid, st.st_gid) < 0 && errno != EPERM) return sys_error("chown \"" + name + "\"");
    if (::fchmod(dfd.get(), st.st_mode & 07777) < 0) return sys_error("chmod \"" + name + "\"");
    copy_xattrs(sfd.get(), dfd.get());
    (void)::futimens(dfd.get(), ts);
    return ok();
  }
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
    auto it = state.links.find({st.st_dev, st.st_ino});
    if (it != state.links.end()) {
      std::span<const std::string> parents(it->second.data(), it->second.size() - 1);
      auto pdir = BERTH_TRY(safefs::open_dir(dst_root, parents, false, name));
      if (::linkat(pdir.get(), it->second.back().c_str(), dst_dir, name.c_str(), 0) == 0) return ok();
    }
    auto path = rel;
    path.push_back(name);
    state.links[{st.st_dev, st.st_ino}] = std::move(path);
  }
  if (S_ISREG(st.st_mode)) {
    int s = ::openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0) return sys_error("open \"" + name + "\"");
    UniqueFd sfd(s);
    int d = ::openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0) return sys_error("create \"" + name + "\"");
    UniqueFd dfd(d);
    BERTH_TRY(copy_data(sfd.get(), dfd.get(), name));
    if (::fchown(dfd.get(), st.st_uid, st.st_gid) < 0 && errno != EPERM) return sys_error("chown \"" + name + "\"");
    if (::fchmod(dfd.get(), st.st_mode & 07777) < 0) return sys_error("chmod \"" + name + "\"");
    copy_xattrs(sfd.get(), dfd.get());
    (void)::futimens(dfd.get(), ts);
    return ok();
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
    if (n < 0) return sys_error("readlink \"" + name + "\"");
    target.resize(static_cast<size_t>(n));
    if (::symlinkat(target.c_str(), dst_dir, name.c_str()) < 0) return sys_error("symlink \"" + name + "\"");
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
    if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) return sys_error("mknod \"" + name + "\"");
    // Just created by us in a private directory, so the name-based calls cannot be redirected.
    if (::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) < 0) return sys_error("chmod \"" + name + "\"");
  } else {
    return ok();  // sockets
  }
  if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
    return sys_error("chown \"" + name + "\"");
  (void)::utimensat(dst_dir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  return ok();
}

Status copy_tree(int src_dir, int dst_root, int dst_dir, std::vector<std::string>& rel, CopyState& state) {
  for (const auto& name : BERTH_TRY(safefs::list_dir(src_dir))) BERTH_TRY(copy_entry(src_dir, dst_root, dst_dir, name, rel, state));
  return ok();
}

Status copy_layers(const std::vector<std::string>& layers_bottom_up, const std::string& target) {
  auto dst = BERTH_TRY(safefs::open_dir_path(target));
  for (const auto& layer : layers_bottom_up) {
    auto src = BERTH_TRY(safefs::open_dir_path(layer));
    CopyState state;
    std::vector<std::string> rel;
    if (auto st = copy_tree(src.get(), dst.get(), dst.get(), rel, state); !st)
      return tl::unexpected(st.error().context("copy layer " + layer));
  }
  return ok();
}

Result<Json> read_record(const std::string& dir) {
  auto text = BERTH_TRY(fs::read_file(dir + "/rootfs.json"));
  return parse_json(text, dir + "/rootfs.json");
}

}  // namespace

namespace {
// Set once, before the Docker API serves (set_rootfs_gate's contract), read by its threads.
std::function<void()>& rootfs_gate() {
  static std::function<void()> gate;
  return gate;
}
}  // namespace

void set_rootfs_gate(std::function<void()> wait) { rootfs_gate() = std::move(wait); }

bool overlay_available() {
  auto text = fs::read_file("/proc/filesystems");
  return text && text->find("\toverlay\n") != std::string::npos;
}

Result<Rootfs> mount_rootfs(const std::string& state_root, const std::string& id,
                            const std::vector<std::string>& layer_dirs, const RootfsOptions& options) {
  BERTH_TRY(validate_id(id));
  if (rootfs_gate()) rootfs_gate()();
  Rootfs r;
  r.container_dir = container_dir(state_root, id);
  r.path = r.container_dir + "/rootfs";
  BERTH_TRY(safefs::ensure_dir(state_root + "/containers", 0711));
  BERTH_TRY(safefs::ensure_dir(r.container_dir, 0700));
  // Records what the container stands on before mounting, so GC never removes a snapshot
  // under a live mount even if the agent dies right after.
  if (!fs::exists(r.container_dir + "/rootfs.json")) {
    bool use_overlay = !options.force_copy && overlay_available();
    Json rec = {{"mode", use_overlay ? "overlay" : "copy"}, {"layers", layer_dirs}};
    BERTH_TRY(fs::write_file_atomic(r.container_dir + "/rootfs.json", rec.dump(2), 0600));
  }
  auto rec = BERTH_TRY(read_record(r.container_dir));
  r.mode = rec.value("mode", "overlay") == "copy" ? RootfsMode::copy : RootfsMode::overlay;
  std::vector<std::string> layers = rec.value("layers", std::vector<std::string>{});
  BERTH_TRY(fs::mkdir_p(r.path, 0755));

  if (r.mode == RootfsMode::overlay) {
    if (is_mountpoint(r.path)) return r;
    BERTH_TRY(fs::mkdir_p(r.container_dir + "/upper", 0755));
    BERTH_TRY(fs::mkdir_p(r.container_dir + "/work", 0700));
    if (layers.empty()) {
      BERTH_TRY(fs::mkdir_p(r.container_dir + "/empty", 0755));
      layers.push_back(r.container_dir + "/empty");
    }
    auto st = mount_overlay(layers, r.container_dir, r.path);
    if (st) return r;
    if (st.error().sys_errno != ENODEV) return tl::unexpected(st.error());
    // The kernel has no overlayfs after all: switch this container to a copy for good.
    log::get("agent")->warn("container {}: overlayfs unavailable, copying the image into its rootfs", id);
    r.mode = RootfsMode::copy;
    Json copy_rec = {{"mode", "copy"}, {"layers", rec.value("layers", std::vector<std::string>{})}};
    BERTH_TRY(fs::write_file_atomic(r.container_dir + "/rootfs.json", copy_rec.dump(2), 0600));
    BERTH_TRY(fs::remove_all(r.container_dir + "/upper"));
    BERTH_TRY(fs::remove_all(r.container_dir + "/work"));
  }
  if (fs::exists(r.container_dir + "/copied")) return r;
  auto target = BERTH_TRY(safefs::open_dir_path(r.path));
  BERTH_TRY(safefs::remove_children(target.get()));  // a copy a crash interrupted
  BERTH_TRY(copy_layers(layers, r.path));
  BERTH_TRY(fs::write_file_atomic(r.container_dir + "/copied", "", 0600));
  return r;
}

Result<Rootfs> open_rootfs(const std::string& state_root, const std::string& id) {
  BERTH_TRY(validate_id(id));
  Rootfs r;
  r.container_dir = container_dir(state_root, id);
  r.path = r.container_dir + "/rootfs";
  auto rec = read_record(r.container_dir);
  if (!rec) {
    if (rec.error().code == Errc::not_found) return make_error(Errc::not_found, "container " + id + " has no rootfs");
    return tl::unexpected(rec.error());
  }
  r.mode = rec->value("mode", "overlay") == "copy" ? RootfsMode::copy : RootfsMode::overlay;
  return r;
}

Status Rootfs::unmount() const {
  if (mode != RootfsMode::overlay) return ok();
  if (!is_mountpoint(path)) return ok();
  if (::umount2(path.c_str(), UMOUNT_NOFOLLOW) == 0) return ok();
  if (errno == EINVAL) return ok();  // not mounted after all
  if (errno != EBUSY) return sys_error("unmount " + path);
  // Something (a leftover process, a bind mount) holds it: detach so the container can go.
  if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0) return sys_error("detach " + path);
  return ok();
}

Status Rootfs::remove() const {
  BERTH_TRY(unmount());
  // Deleting through a live overlay would only write whiteouts, but deleting through a bind
  // mount of something else would not: never remove while anything is mounted there.
  if (fs::exists(path) && is_mountpoint(path))
    return make_error(Errc::conflict, path + " is still mounted; not removing it");
  // The container directory may hold other parts' files (config, logs): only ours go, and
  // the directory itself only once it is empty.
  for (const char* name : {"rootfs", "upper", "work", "empty", "lower", "copied", "rootfs.json"})
    BERTH_TRY(fs::remove_all(container_dir + "/" + name));
  if (::rmdir(container_dir.c_str()) < 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
    return sys_error("remove " + container_dir);
  return ok();
}

Result<std::vector<std::string>> rootfs_layer_dirs_in_use(const std::string& state_root) {
  std::vector<std::string> out;
  std::string base = state_root + "/containers";
  auto dir = safefs::open_dir_path(base);
  if (!dir) {
    if (dir.error().code == Errc::not_found) return out;
    return tl::unexpected(dir.error());
  }
  for (const auto& id : BERTH_TRY(safefs::list_dir(dir->get()))) {
    auto rec = read_record(base + "/" + id);
    if (!rec && rec.error().code == Errc::not_found) continue;
    // Unreadable means unknown, and unknown must keep every snapshot alive.
    if (!rec) return tl::unexpected(rec.error().context("container " + id));
    for (const auto& l : rec->value("layers", std::vector<std::string>{})) out.push_back(l);
  }
  return out;
}

}  // namespace berth::agent::image
