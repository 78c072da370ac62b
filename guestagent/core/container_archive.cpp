#include "container_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

#include "berth/common/unique_fd.h"
#include "ids.h"
#include "image/safe_fs.h"

namespace berth::agent {

namespace safefs = image::safefs;

namespace {

struct Split {
  std::string dir;   // absolute, "/" for top level
  std::string name;  // "" when the path is the root
  bool dot = false;  // path ended in "/."
};

// Cleans an absolute container path and splits off its last component.
Result<Split> split_path(const std::string& path) {
  if (path.empty()) return make_error(Errc::invalid_argument, "path must not be empty");
  Split s;
  std::string p = path.front() == '/' ? path : "/" + path;
  if (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0) s.dot = true;
  std::vector<std::string> comps;
  size_t pos = 0;
  while (pos < p.size()) {
    size_t slash = p.find('/', pos);
    if (slash == std::string::npos) slash = p.size();
    std::string c = p.substr(pos, slash - pos);
    pos = slash + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!comps.empty()) comps.pop_back();  // clamped at the root, like a chrooted process
      continue;
    }
    comps.push_back(c);
  }
  if (comps.empty()) {
    s.dir = "/";
    return s;
  }
  s.name = comps.back();
  comps.pop_back();
  s.dir = "/";
  for (size_t i = 0; i < comps.size(); ++i) s.dir += (i ? "/" : "") + comps[i];
  return s;
}

Result<UniqueFd> open_dir_in_root(int root_fd, const std::string& dir) {
  if (dir == "/") {
    int fd = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return sys_error("dup root");
    return UniqueFd(fd);
  }
  return safefs::open_in_root(root_fd, dir, O_RDONLY | O_DIRECTORY);
}

struct TarWriter {
  archive* a = nullptr;
  const ArchiveWriteFn* out = nullptr;
  Status failure;
  // On the heap: add() recurses once per directory level, and handlers run on small stacks.
  std::vector<char> copy_buf = std::vector<char>(65536);

  static la_ssize_t write_cb(archive*, void* self, const void* buf, size_t n) {
    auto* w = static_cast<TarWriter*>(self);
    auto st = (*w->out)(buf, n);
    if (!st) {
      w->failure = st;
      return -1;
    }
    return static_cast<la_ssize_t>(n);
  }

  explicit TarWriter(const ArchiveWriteFn& fn) : out(&fn) {
    a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open(a, this, nullptr, &write_cb, nullptr);
  }
  ~TarWriter() { archive_write_free(a); }

  Status error(const std::string& what) {
    if (!failure) return failure;
    return make_error(Errc::io, what + ": " + (archive_error_string(a) ? archive_error_string(a) : "tar error"));
  }

  // Adds `name` (in dirfd) under archive name `as`, recursing into directories.
  Status add(int dirfd, const std::string& name, const std::string& as) {
    struct stat st {};
    if (::fstatat(dirfd, name.empty() ? "" : name.c_str(), &st, name.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) < 0)
      return sys_error("stat " + as);
    archive_entry* e = archive_entry_new();
    archive_entry_copy_stat(e, &st);
    std::string entry_name = as;
    if (S_ISDIR(st.st_mode) && !entry_name.empty() && entry_name.back() != '/') entry_name += "/";
    archive_entry_set_pathname(e, entry_name.c_str());
    UniqueFd file;
    if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 1);
      ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size() - 1);
      if (n < 0) {
        archive_entry_free(e);
        return sys_error("readlink " + as);
      }
      target[static_cast<size_t>(n)] = 0;
      archive_entry_set_symlink(e, target.data());
      archive_entry_set_size(e, 0);
    } else if (S_ISREG(st.st_mode)) {
      file.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!file) {
        archive_entry_free(e);
        return sys_error("open " + as);
      }
    } else if (!S_ISDIR(st.st_mode)) {
      archive_entry_set_size(e, 0);
    }
    bool skip_entry = entry_name.empty();  // export: the tree root itself has no entry
    if (!skip_entry && archive_write_header(a, e) != ARCHIVE_OK) {
      archive_entry_free(e);
      return error("write " + as);
    }
    archive_entry_free(e);
    if (file) {
      for (;;) {
        ssize_t n = ::read(file.get(), copy_buf.data(), copy_buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read " + as);
        if (n == 0) break;
        if (archive_write_data(a, copy_buf.data(), static_cast<size_t>(n)) < 0) return error("write " + as);
      }
    }
    if (S_ISDIR(st.st_mode)) {
      int fd = name.empty() ? ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0)
                            : ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return sys_error("open " + as);
      UniqueFd dir(fd);
      auto names = BERTH_TRY(safefs::list_dir(dir.get()));
      std::sort(names.begin(), names.end());
      const std::string& prefix = entry_name;
      for (const auto& child : names) BERTH_TRY(add(dir.get(), child, prefix + child));
    }
    return ok();
  }

  Status finish() {
    if (archive_write_close(a) != ARCHIVE_OK) return error("finish tar");
    return ok();
  }
};

}  // namespace

uint32_t go_file_mode(mode_t m) {
  uint32_t out = m & 0777;
  switch (m & S_IFMT) {
    case S_IFDIR: out |= 1u << 31; break;
    case S_IFLNK: out |= 1u << 27; break;
    case S_IFBLK: out |= 1u << 26; break;
    case S_IFCHR: out |= (1u << 26) | (1u << 21); break;
    case S_IFIFO: out |= 1u << 25; break;
    case S_IFSOCK: out |= 1u << 24; break;
    default: break;
  }
  if (m & S_ISUID) out |= 1u << 23;
  if (m & S_ISGID) out |= 1u << 22;
  if (m & S_ISVTX) out |= 1u << 20;
  return out;
}

Json to_json(const PathStat& s) {
  return {{"name", s.name}, {"size", s.size}, {"mode", s.mode}, {"mtime", s.mtime}, {"linkTarget", s.link_target}};
}

std::string base64_encode(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += "=";
  }
  return out;
}

std::string path_stat_header(const PathStat& s) { return base64_encode(to_json(s).dump()); }

Result<PathStat> stat_in_root(int root_fd, const std::string& path) {
  auto sp = BERTH_TRY(split_path(path));
  auto dir = BERTH_TRY(open_dir_in_root(root_fd, sp.dir));
  struct stat st {};
  int rc = sp.name.empty() ? ::fstat(dir.get(), &st) : ::fstatat(dir.get(), sp.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
  if (rc < 0) return sys_error("stat " + path);
  PathStat s;
  s.name = sp.dot ? "." : (sp.name.empty() ? "/" : sp.name);
  s.size = st.st_size;
  s.mode = go_file_mode(st.st_mode);
  s.mtime = format_time(Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec))));
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlinkat(dir.get(), sp.name.c_str(), buf, sizeof buf - 1);
    if (n > 0) {
      buf[n] = 0;
      std::string target = buf;
      s.link_target = target.front() == '/' ? target : (sp.dir == "/" ? "/" : sp.dir + "/") + target;
    }
  }
  return s;
}

Status write_path_tar(int root_fd, const std::string& path, const ArchiveWriteFn& out) {
  auto sp = BERTH_TRY(split_path(path));
  auto dir = BERTH_TRY(open_dir_in_root(root_fd, sp.dir));
  TarWriter w(out);
  if (sp.name.empty()) {
    BERTH_TRY(w.add(dir.get(), "", "./"));
  } else if (sp.dot) {
    // "dir/." : the directory's contents under "./".
    int fd = ::openat(dir.get(), sp.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return sys_error("open " + path);
    UniqueFd d(fd);
    BERTH_TRY(w.add(d.get(), "", "./"));
  } else {
    BERTH_TRY(w.add(dir.get(), sp.name, sp.name));
  }
  return w.finish();
}

Status write_tree_tar(int root_fd, const ArchiveWriteFn& out) {
  TarWriter w(out);
  BERTH_TRY(w.add(root_fd, "", ""));
  return w.finish();
}

namespace {

struct TarReader {
  archive* a = nullptr;
  const ArchiveReadFn* in = nullptr;
  std::vector<char> buf = std::vector<char>(65536);
  Status failure;

  static la_ssize_t read_cb(archive*, void* self, const void** out) {
    auto* r = static_cast<TarReader*>(self);
    auto n = (*r->in)(r->buf.data(), r->buf.size());
    if (!n) {
      r->failure = tl::unexpected(n.error());
      return -1;
    }
    *out = r->buf.data();
    return static_cast<la_ssize_t>(*n);
  }
  explicit TarReader(const ArchiveReadFn& fn) : in(&fn) {
    a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
  }
  ~TarReader() { archive_read_free(a); }
  Status error(const std::string& what) {
    if (!failure) return failure;
    return make_error(Errc::invalid_argument, what + ": " + (archive_error_string(a) ? archive_error_string(a) : "bad tar"));
  }
};

Status remove_existing(int dirfd, const std::string& name, bool new_is_dir, const ExtractOptions& o, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return ok();
  bool old_is_dir = S_ISDIR(st.st_mode);
  if (old_is_dir && new_is_dir) return ok();
  if (o.no_overwrite_dir_non_dir && old_is_dir != new_is_dir)
    return make_error(Errc::invalid_argument, old_is_dir ? "cannot overwrite directory \"" + shown + "\" with non-directory"
                                                         : "cannot overwrite non-directory \"" + shown + "\" with directory");
  return safefs::remove_at(dirfd, name);
}

}  // namespace

Status extract_tar(int root_fd, const std::string& dest, const ArchiveReadFn& in, const ExtractOptions& o) {
  auto sp = BERTH_TRY(split_path(dest));
  std::string dest_abs = sp.name.empty() ? sp.dir : (sp.dir == "/" ? "/" : sp.dir + "/") + sp.name;
  auto target = safefs::open_in_root(root_fd, dest_abs, O_RDONLY | O_DIRECTORY);
  if (!target) {
    if (target.error().sys_errno == ENOTDIR)
      return make_error(Errc::invalid_argument, "extraction point is not a directory");
    return tl::unexpected(target.error());
  }
  TarReader r(in);
  if (archive_read_open(r.a, &r, nullptr, &TarReader::read_cb, nullptr) != ARCHIVE_OK) return r.error("open tar");
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(r.a, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return r.error("read tar");
    std::string path = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    auto comps = BERTH_TRY(safefs::split_relative(path));
    if (comps.empty()) continue;  // "./" itself
    auto parent = BERTH_TRY(safefs::open_dir(target->get(), std::span(comps).first(comps.size() - 1), true, path));
    const std::string& name = comps.back();
    mode_t mode = archive_entry_mode(e);
    uid_t uid = o.copy_uid_gid ? static_cast<uid_t>(archive_entry_uid(e)) : 0;
    gid_t gid = o.copy_uid_gid ? static_cast<gid_t>(archive_entry_gid(e)) : 0;
    const char* hardlink = archive_entry_hardlink(e);
    if (hardlink) {
      auto lcomps = BERTH_TRY(safefs::split_relative(hardlink));
      if (lcomps.empty()) return make_error(Errc::invalid_argument, "hard link " + path + " has no target");
      auto lparent = BERTH_TRY(safefs::open_dir(target->get(), std::span(lcomps).first(lcomps.size() - 1), false, hardlink));
      BERTH_TRY(remove_existing(parent.get(), name, false, o, path));
      if (::linkat(lparent.get(), lcomps.back().c_str(), parent.get(), name.c_str(), 0) < 0) return sys_error("link " + path);
      continue;
    }
    switch (mode & S_IFMT) {
      case S_IFDIR: {
        BERTH_TRY(remove_existing(parent.get(), name, true, o, path));
        if (::mkdirat(parent.get(), name.c_str(), 0700) < 0 && errno != EEXIST) return sys_error("mkdir " + path);
        int fd = ::openat(parent.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return sys_error("open " + path);
        UniqueFd d(fd);
        if (::fchown(d.get(), uid, gid) < 0 && errno != EPERM) return sys_error("chown " + path);
        if (::fchmod(d.get(), mode & 07777) < 0) return sys_error("chmod " + path);
        break;
      }
      case S_IFREG: {
        BERTH_TRY(remove_existing(parent.get(), name, false, o, path));
        int fd = ::openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) return sys_error("create " + path);
        UniqueFd f(fd);
        const void* block;
        size_t size;
        la_int64_t offset;
        for (;;) {
          int brc = archive_read_data_block(r.a, &block, &size, &offset);
          if (brc == ARCHIVE_EOF) break;
          if (brc != ARCHIVE_OK) return r.error("read " + path);
          const char* p = static_cast<const char*>(block);
          while (size > 0) {
            ssize_t n = ::pwrite(f.get(), p, size, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return sys_error("write " + path);
            p += n;
            size -= static_cast<size_t>(n);
            offset += n;
          }
        }
        if (::fchown(f.get(), uid, gid) < 0 && errno != EPERM) return sys_error("chown " + path);
        if (::fchmod(f.get(), mode & 07777) < 0) return sys_error("chmod " + path);
        timespec times[2] = {{archive_entry_atime(e), 0}, {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
        times[0] = times[1];
        ::futimens(f.get(), times);
        break;
      }
      case S_IFLNK: {
        BERTH_TRY(remove_existing(parent.get(), name, false, o, path));
        const char* t = archive_entry_symlink(e);
        if (::symlinkat(t ? t : "", parent.get(), name.c_str()) < 0) return sys_error("symlink " + path);
        ::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO: {
        BERTH_TRY(remove_existing(parent.get(), name, false, o, path));
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(parent.get(), name.c_str(), (mode & S_IFMT) | (mode & 07777), dev) < 0) return sys_error("mknod " + path);
        ::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
        break;
      }
      default:
        break;  // sockets and unknown types are skipped, as tar does
    }
  }
  return ok();
}

}  // namespace berth::agent
