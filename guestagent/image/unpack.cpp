#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "berth/common/log.h"
#include "decompress.h"
#include "digest.h"
#include "safe_fs.h"

namespace berth::agent::image {

UnpackOptions::UnpackOptions() : chown(::geteuid() == 0) {}

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kOverlayOpaqueXattr = "trusted.overlay.opaque";
constexpr size_t kReadBlock = 128 * 1024;

// Feeds the tar parser while hashing exactly the bytes of the uncompressed stream.
struct HashingSource {
  DecompressReader* reader = nullptr;
  Sha256 hash;
  uint64_t total = 0;
  std::vector<char> buf = std::vector<char>(kReadBlock);
  std::optional<Error> error;

  Result<size_t> pull() {
    auto n = BERTH_TRY(reader->read(buf.data(), buf.size()));
    hash.update(buf.data(), n);
    total += n;
    return n;
  }
};

la_ssize_t source_read(struct archive* a, void* client, const void** out) {
  auto* s = static_cast<HashingSource*>(client);
  auto n = s->pull();
  if (!n) {
    s->error = n.error();
    archive_set_error(a, EIO, "%s", n.error().message.c_str());
    return -1;
  }
  *out = s->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

std::string entry_path(struct archive_entry* e) {
  if (const char* p = archive_entry_pathname(e)) return p;
  if (const char* p = archive_entry_pathname_utf8(e)) return p;
  return {};
}

std::optional<std::string> entry_hardlink(struct archive_entry* e) {
  if (const char* p = archive_entry_hardlink(e)) return std::string(p);
  if (const char* p = archive_entry_hardlink_utf8(e)) return std::string(p);
  return std::nullopt;
}

std::optional<std::string> entry_symlink(struct archive_entry* e) {
  if (const char* p = archive_entry_symlink(e)) return std::string(p);
  if (const char* p = archive_entry_symlink_utf8(e)) return std::string(p);
  return std::nullopt;
}

// Layers may carry file capabilities and user xattrs. Overlay's own trusted.overlay.* would
// let a layer forge opaque dirs or redirects, so only the whiteout markers set them.
bool xattr_allowed(std::string_view name) {
  if (name.starts_with("trusted.overlay.")) return false;
  return name.starts_with("user.") || name == "security.capability" || name.starts_with("trusted.");
}

struct DeferredTimes {
  std::vector<std::string> components;
  struct timespec times[2];
};

class Applier {
 public:
  Applier(int root_fd, const UnpackOptions& options, struct archive* a)
      : root_fd_(root_fd), options_(options), archive_(a) {}

  Status apply(struct archive_entry* e) {
    std::string path = entry_path(e);
    if (path.empty()) return make_error(Errc::invalid_argument, "layer entry without a usable name");
    auto comps = BERTH_TRY(safefs::split_relative(path));
    mode_t type = archive_entry_filetype(e);
    auto hardlink = entry_hardlink(e);

    if (comps.empty()) {
      // "./" is common in layers made with `tar -C dir .`; it describes the root itself.
      if (type != AE_IFDIR || hardlink)
        return make_error(Errc::invalid_argument, "refusing path \"" + path + "\": entry names the layer root");
      return apply_dir_metadata(root_fd_, e, comps);
    }

    const std::string& name = comps.back();
    std::span<const std::string> parents(comps.data(), comps.size() - 1);
    if (name.starts_with(kWhiteoutPrefix)) return whiteout(path, parents, name);

    auto parent = BERTH_TRY(safefs::open_dir(root_fd_, parents, true, path));
    if (hardlink) return make_hardlink(path, parent.get(), name, *hardlink);
    BERTH_TRY(clear_existing(parent.get(), name, type == AE_IFDIR, path));
    switch (type) {
      case AE_IFREG: return regular(parent.get(), name, e, path);
      case AE_IFDIR: return directory(parent.get(), name, e, comps, path);
      case AE_IFLNK: return symlink(parent.get(), name, e, path);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: return node(parent.get(), name, e, type, path);
      case AE_IFSOCK: return ok();  // sockets are never meaningful in an image
      default:
        return make_error(Errc::invalid_argument, "layer entry \"" + path + "\" has an unknown file type");
    }
  }

  // Directory mtimes change as children are added, so they are set last, deepest first.
  Status finish() {
    for (auto it = deferred_.rbegin(); it != deferred_.rend(); ++it) {
      auto dir = safefs::open_dir(root_fd_, it->components, false, "");
      if (!dir) continue;  // replaced later in the same layer
      if (::futimens(dir->get(), it->times) < 0) return sys_error("set times of a directory");
    }
    return ok();
  }

 private:
  Status whiteout(const std::string& path, std::span<const std::string> parents, const std::string& name) {
    if (name == kOpaqueMarker) {
      auto dir = BERTH_TRY(safefs::open_dir(root_fd_, parents, true, path));
      if (::fsetxattr(dir.get(), kOverlayOpaqueXattr.data(), "y", 1, 0) < 0)
        return sys_error("mark \"" + path + "\" opaque (needs CAP_SYS_ADMIN and an xattr-capable file system)");
      return ok();
    }
    // Other ".wh..wh." names are aufs bookkeeping (hard-link dirs and the like): not content.
    if (name.starts_with(".wh..wh.")) return ok();
    std::string target = name.substr(kWhiteoutPrefix.size());
    if (target.empty() || target == "." || target == "..")
      return make_error(Errc::invalid_argument, "refusing whiteout \"" + path + "\": it names no file in its directory");
    auto dir = BERTH_TRY(safefs::open_dir(root_fd_, parents, true, path));
    BERTH_TRY(safefs::remove_at(dir.get(), target));
    if (::mknodat(dir.get(), target.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0)
      return sys_error("create whiteout for \"" + path + "\" (needs CAP_MKNOD)");
    return ok();
  }

  Status clear_existing(int parent, const std::string& name, bool new_is_dir, const std::string& path) {
    struct stat st;
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) return ok();
      return sys_error("stat \"" + path + "\"");
    }
    if (new_is_dir && S_ISDIR(st.st_mode)) return ok();  // merged; metadata updated below
    return safefs::remove_at(parent, name);
  }

  Status ownership_fd(int fd, struct archive_entry* e, const std::string& path) {
    if (!options_.chown) return ok();
    if (::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e))) < 0)
      return sys_error("chown \"" + path + "\"");
    return ok();
  }

  Status xattrs_fd(int fd, struct archive_entry* e, const std::string& path) {
    archive_entry_xattr_reset(e);
    const char* xname = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &xname, &value, &size) == ARCHIVE_OK) {
      if (!xname || !xattr_allowed(xname)) continue;
      if (::fsetxattr(fd, xname, value, size, 0) < 0) {
        // A missing xattr is a degraded file, not a broken layer, except for capabilities,
        // without which programs like ping silently lose their privilege.
        if (std::string_view(xname) == "security.capability")
          return sys_error("set security.capability on \"" + path + "\"");
        log::get("agent")->debug("image unpack: xattr {} on {} not set: {}", xname, path, std::strerror(errno));
      }
    }
    return ok();
  }

  static void entry_times(struct archive_entry* e, struct timespec ts[2]) {
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    if (archive_entry_atime_is_set(e)) {
      ts[0].tv_sec = archive_entry_atime(e);
      ts[0].tv_nsec = archive_entry_atime_nsec(e);
    } else {
      ts[0] = ts[1];
    }
  }

  Status regular(int parent, const std::string& name, struct archive_entry* e, const std::string& path) {
    int fd = ::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error("create \"" + path + "\"");
    UniqueFd file(fd);
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int64_t pos = 0;
    for (;;) {
      int r = archive_read_data_block(archive_, &block, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return make_error(Errc::invalid_argument, "read data of \"" + path + "\": " + archive_error_string(archive_));
      if (offset != pos) {  // sparse entry: leave a hole
        if (::lseek(fd, offset, SEEK_SET) < 0) return sys_error("seek in \"" + path + "\"");
        pos = offset;
      }
      auto* p = static_cast<const char*>(block);
      size_t left = size;
      while (left) {
        ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("write \"" + path + "\"");
        p += n;
        left -= static_cast<size_t>(n);
      }
      pos += static_cast<int64_t>(size);
    }
    int64_t declared = archive_entry_size(e);
    if (declared > pos && ::ftruncate(fd, declared) < 0) return sys_error("extend \"" + path + "\"");
    BERTH_TRY(ownership_fd(fd, e, path));
    // After chown, which clears set-id bits.
    if (::fchmod(fd, archive_entry_perm(e) & 07777) < 0) return sys_error("chmod \"" + path + "\"");
    BERTH_TRY(xattrs_fd(fd, e, path));
    struct timespec ts[2];
    entry_times(e, ts);
    if (::futimens(fd, ts) < 0) return sys_error("set times of \"" + path + "\"");
    return ok();
  }

  Status apply_dir_metadata(int dirfd, struct archive_entry* e, std::span<const std::string> comps) {
    std::string path = comps.empty() ? std::string(".") : entry_path(e);
    BERTH_TRY(ownership_fd(dirfd, e, path));
    if (::fchmod(dirfd, archive_entry_perm(e) & 07777) < 0) return sys_error("chmod \"" + path + "\"");
    BERTH_TRY(xattrs_fd(dirfd, e, path));
    DeferredTimes d;
    d.components.assign(comps.begin(), comps.end());
    entry_times(e, d.times);
    deferred_.push_back(std::move(d));
    return ok();
  }

  Status directory(int parent, const std::string& name, struct archive_entry* e, const std::vector<std::string>& comps,
                   const std::string& path) {
    if (::mkdirat(parent, name.c_str(), 0700) < 0 && errno != EEXIST) return sys_error("mkdir \"" + path + "\"");
    int fd = ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_error("open \"" + path + "\"");
    UniqueFd dir(fd);
    return apply_dir_metadata(dir.get(), e, comps);
  }

  Status symlink(int parent, const std::string& name, struct archive_entry* e, const std::string& path) {
    auto target = entry_symlink(e);
    if (!target || target->empty()) return make_error(Errc::invalid_argument, "symlink \"" + path + "\" has no target");
    // The target is only stored, never followed here, so where it points does not matter.
    if (::symlinkat(target->c_str(), parent, name.c_str()) < 0) return sys_error("symlink \"" + path + "\"");
    if (options_.chown &&
        ::fchownat(parent, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)),
                   AT_SYMLINK_NOFOLLOW) < 0)
      return sys_error("chown \"" + path + "\"");
    struct timespec ts[2];
    entry_times(e, ts);
    if (::utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("set times of \"" + path + "\"");
    return ok();
  }

  Status node(int parent, const std::string& name, struct archive_entry* e, mode_t type, const std::string& path) {
    mode_t kind = type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK : S_IFIFO;
    dev_t dev = type == AE_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    if (::mknodat(parent, name.c_str(), kind | 0600, dev) < 0) return sys_error("mknod \"" + path + "\"");
    // The node was just created in a directory only this unpack writes to, so the
    // path-based calls below cannot be redirected.
    if (options_.chown &&
        ::fchownat(parent, name.c_str(), static_cast<uid_t>(archive_entry_uid(e)), static_cast<gid_t>(archive_entry_gid(e)),
                   AT_SYMLINK_NOFOLLOW) < 0)
      return sys_error("chown \"" + path + "\"");
    if (::fchmodat(parent, name.c_str(), archive_entry_perm(e) & 07777, 0) < 0) return sys_error("chmod \"" + path + "\"");
    struct timespec ts[2];
    entry_times(e, ts);
    if (::utimensat(parent, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return sys_error("set times of \"" + path + "\"");
    return ok();
  }

  Status make_hardlink(const std::string& path, int parent, const std::string& name, const std::string& target) {
    auto tcomps = safefs::split_relative(target);
    if (!tcomps) return make_error(Errc::invalid_argument, "refusing hard link \"" + path + "\" to \"" + target + "\": " + tcomps.error().message);
    if (tcomps->empty())
      return make_error(Errc::invalid_argument, "refusing hard link \"" + path + "\" to the layer root");
    std::span<const std::string> tparents(tcomps->data(), tcomps->size() - 1);
    auto tdir = safefs::open_dir(root_fd_, tparents, false, target);
    if (!tdir)
      return make_error(Errc::invalid_argument, "refusing hard link \"" + path + "\" to \"" + target + "\": " + tdir.error().what());
    struct stat st;
    if (::fstatat(tdir->get(), tcomps->back().c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
      return make_error(Errc::invalid_argument, "hard link \"" + path + "\" points to \"" + target + "\", which is not in the layer");
    if (S_ISDIR(st.st_mode))
      return make_error(Errc::invalid_argument, "refusing hard link \"" + path + "\" to directory \"" + target + "\"");
    struct stat cur;
    if (::fstatat(parent, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0) {
      if (cur.st_ino == st.st_ino && cur.st_dev == st.st_dev) return ok();
      BERTH_TRY(safefs::remove_at(parent, name));
    }
    // flags 0: a symlink target is linked as the symlink itself, never followed.
    if (::linkat(tdir->get(), tcomps->back().c_str(), parent, name.c_str(), 0) < 0)
      return sys_error("hard link \"" + path + "\" to \"" + target + "\"");
    return ok();
  }

  int root_fd_;
  const UnpackOptions& options_;
  struct archive* archive_;
  std::vector<DeferredTimes> deferred_;
};

}  // namespace

Result<UnpackResult> apply_layer(int layer_fd, int root_fd, const UnpackOptions& options) {
  Compression c = BERTH_TRY(detect_compression(layer_fd));
  auto reader = BERTH_TRY(DecompressReader::open(layer_fd, c));
  HashingSource source;
  source.reader = reader.get();

  std::unique_ptr<struct archive, ArchiveFree> a(archive_read_new());
  if (!a) return make_error(Errc::internal, "archive_read_new failed");
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), &source, nullptr, source_read, nullptr) != ARCHIVE_OK) {
    if (source.error) return tl::unexpected(*source.error);
    return make_error(Errc::invalid_argument, std::string("layer is not a tar archive: ") + archive_error_string(a.get()));
  }

  Applier applier(root_fd, options, a.get());
  UnpackResult result;
  for (;;) {
    struct archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (source.error) return tl::unexpected(*source.error);
      return make_error(Errc::invalid_argument, std::string("corrupt layer tar: ") + archive_error_string(a.get()));
    }
    if (auto st = applier.apply(e); !st) {
      if (source.error) return tl::unexpected(*source.error);
      return tl::unexpected(st.error());
    }
    ++result.entries;
  }
  BERTH_TRY(applier.finish());
  // The tar parser stops at the end-of-archive blocks; the diff id covers every byte.
  for (;;) {
    auto n = BERTH_TRY(source.pull());
    if (n == 0) break;
  }
  result.diff_id = source.hash.finish();
  result.diff_size = source.total;
  if (!options.expected_diff_id.empty() && result.diff_id != options.expected_diff_id)
    return make_error(Errc::protocol, "layer content does not match its diff id: expected " + options.expected_diff_id +
                                          ", got " + result.diff_id);
  return result;
}

}  // namespace berth::agent::image
