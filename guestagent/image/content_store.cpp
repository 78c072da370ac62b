#include "content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "berth/common/fs.h"
#include "safe_fs.h"

namespace berth::agent::image {

namespace {

Status write_all(int fd, const void* data, size_t size, const std::string& what) {
  auto* p = static_cast<const char*>(data);
  while (size) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write " + what);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return ok();
}

Status fsync_dir(const std::string& dir) {
  auto fd = BERTH_TRY(fs::open(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) < 0) return sys_error("fsync " + dir);
  return ok();
}

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd());
}

template <class Fn>
Status for_each_name(const std::string& dir, Fn&& fn) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return ok();
    return sys_error("opendir " + dir);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) fn(n);
  return ok();
}

}  // namespace

// ---- BlobWriter -------------------------------------------------------------------------

BlobWriter::BlobWriter(const ContentStore& store, std::string expected, int64_t expected_size)
    : store_(store), expected_(std::move(expected)), expected_size_(expected_size) {}

BlobWriter::~BlobWriter() {
  // Anonymous temp files cannot be resumed (nothing names them); digest-named ones can.
  if (!done_ && !exists_ && expected_.empty() && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Status BlobWriter::write(const void* data, size_t size) {
  if (exists_ || done_) return make_error(Errc::internal, "write to a finished blob writer");
  if (expected_size_ >= 0 && offset_ + static_cast<int64_t>(size) > expected_size_)
    return make_error(Errc::protocol, "blob " + (expected_.empty() ? std::string("data") : expected_) +
                                          " is larger than its declared size " + std::to_string(expected_size_));
  BERTH_TRY(write_all(fd_.get(), data, size, temp_path_));
  hash_.update(data, size);
  offset_ += static_cast<int64_t>(size);
  return ok();
}

Status BlobWriter::restart() {
  if (exists_ || done_) return ok();
  if (::ftruncate(fd_.get(), 0) < 0 || ::lseek(fd_.get(), 0, SEEK_SET) < 0) return sys_error("truncate " + temp_path_);
  hash_ = Sha256();
  offset_ = 0;
  return ok();
}

void BlobWriter::discard() {
  if (exists_ || done_) return;
  ::unlink(temp_path_.c_str());
  fd_.reset();
  done_ = true;
}

Result<std::string> BlobWriter::commit() {
  if (exists_) return expected_;
  if (done_) return make_error(Errc::internal, "commit of a finished blob writer");
  if (::fsync(fd_.get()) < 0) return sys_error("fsync " + temp_path_);
  std::string digest = hash_.finish();
  if (expected_size_ >= 0 && offset_ != expected_size_) {
    discard();
    return make_error(Errc::protocol, "size mismatch for blob " + (expected_.empty() ? digest : expected_) +
                                          ": expected " + std::to_string(expected_size_) + " bytes, got " +
                                          std::to_string(offset_));
  }
  if (!expected_.empty() && digest != expected_) {
    discard();
    return make_error(Errc::protocol, "digest mismatch: expected " + expected_ + ", got " + digest);
  }
  std::string target = store_.blob_path(digest);
  if (::rename(temp_path_.c_str(), target.c_str()) < 0) {
    auto err = sys_error("rename " + temp_path_ + " to " + target);
    discard();
    return err;
  }
  done_ = true;
  BERTH_TRY(fsync_dir(store_.blobs_dir()));
  fd_.reset();
  return digest;
}

// ---- ContentStore -----------------------------------------------------------------------

Result<std::unique_ptr<ContentStore>> ContentStore::open(std::string root) {
  std::unique_ptr<ContentStore> store(new ContentStore(std::move(root)));
  BERTH_TRY(safefs::ensure_dir(store->root_, 0700));
  BERTH_TRY(safefs::ensure_dir(store->blobs_dir(), 0700));
  BERTH_TRY(safefs::ensure_dir(store->ingest_dir(), 0700));
  // Anonymous temp files belong to writers of a previous run; digest-named partials are kept.
  BERTH_TRY(for_each_name(store->ingest_dir(), [&](const std::string& n) {
    if (n.starts_with("tmp-")) ::unlink((store->ingest_dir() + "/" + n).c_str());
  }));
  return store;
}

std::string ContentStore::blob_path(std::string_view digest) const {
  return blobs_dir() + "/" + std::string(digest_hex(digest));
}

bool ContentStore::has(std::string_view digest) const {
  if (!is_digest(digest)) return false;
  struct stat st;
  return ::stat(blob_path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int64_t> ContentStore::size(std::string_view digest) const {
  BERTH_TRY(validate_digest(digest));
  struct stat st;
  if (::stat(blob_path(digest).c_str(), &st) < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "blob " + std::string(digest) + " not found");
    return sys_error("stat blob " + std::string(digest));
  }
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> ContentStore::open_blob(std::string_view digest) const {
  BERTH_TRY(validate_digest(digest));
  int fd = ::open(blob_path(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(Errc::not_found, "blob " + std::string(digest) + " not found");
    return sys_error("open blob " + std::string(digest));
  }
  return UniqueFd(fd);
}

Result<std::string> ContentStore::read(std::string_view digest, size_t max_size) const {
  auto fd = BERTH_TRY(open_blob(digest));
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return sys_error("stat blob " + std::string(digest));
  if (static_cast<uint64_t>(st.st_size) > max_size)
    return make_error(Errc::invalid_argument, "blob " + std::string(digest) + " is too large (" +
                                                  std::to_string(st.st_size) + " bytes) to be a manifest or config");
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n = ::pread(fd.get(), data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sys_error("read blob " + std::string(digest), n == 0 ? EIO : errno);
    got += static_cast<size_t>(n);
  }
  if (sha256_digest(data) != digest)
    return make_error(Errc::io, "blob " + std::string(digest) + " is corrupt on disk (digest mismatch)");
  return data;
}

Result<std::string> ContentStore::put(std::string_view data, std::string_view expected) {
  auto w = BERTH_TRY(writer(expected, static_cast<int64_t>(data.size())));
  if (w->exists()) return std::string(expected);
  if (w->offset() != 0) BERTH_TRY(w->restart());
  BERTH_TRY(w->write(data.data(), data.size()));
  return w->commit();
}

Result<std::unique_ptr<BlobWriter>> ContentStore::writer(std::string_view expected, int64_t expected_size) const {
  if (!expected.empty()) BERTH_TRY(validate_digest(expected));
  std::unique_ptr<BlobWriter> w(new BlobWriter(*this, std::string(expected), expected_size));
  if (expected.empty()) {
    w->temp_path_ = ingest_dir() + "/tmp-" + unique_suffix();
    w->fd_ = BERTH_TRY(fs::open(w->temp_path_, O_RDWR | O_CREAT | O_EXCL, 0600));
    ::flock(w->fd_.get(), LOCK_EX);
    return w;
  }
  w->temp_path_ = ingest_dir() + "/" + std::string(digest_hex(expected));
  for (;;) {
    if (has(expected)) {
      w->exists_ = true;
      return w;
    }
    auto fd = BERTH_TRY(fs::open(w->temp_path_, O_RDWR | O_CREAT, 0600));
    // Serialises writers of the same digest across threads and processes; the loser finds
    // the blob committed (or the partial discarded) once it gets the lock.
    while (::flock(fd.get(), LOCK_EX) < 0) {
      if (errno != EINTR) return sys_error("lock " + w->temp_path_);
    }
    if (has(expected)) {
      // A writer that raced past the first check may have created a fresh ingest file after
      // the blob was committed; holding its lock, we know nobody uses it: drop it.
      struct stat held, named;
      if (::fstat(fd.get(), &held) == 0 && ::stat(w->temp_path_.c_str(), &named) == 0 && named.st_ino == held.st_ino &&
          named.st_dev == held.st_dev)
        ::unlink(w->temp_path_.c_str());
      w->exists_ = true;
      return w;
    }
    struct stat held, named;
    if (::fstat(fd.get(), &held) < 0) return sys_error("stat " + w->temp_path_);
    if (::stat(w->temp_path_.c_str(), &named) < 0 || named.st_ino != held.st_ino || named.st_dev != held.st_dev)
      continue;  // discarded by the previous holder: start over on a fresh file
    w->fd_ = std::move(fd);
    break;
  }
  // The hash state cannot be saved, so a resumed ingest re-reads what it already has.
  char buf[1 << 16];
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(w->fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read " + w->temp_path_);
    if (n == 0) break;
    w->hash_.update(buf, static_cast<size_t>(n));
    total += n;
  }
  w->offset_ = total;
  if (expected_size >= 0 && total > expected_size) BERTH_TRY(w->restart());
  return w;
}

Status ContentStore::remove(std::string_view digest) {
  BERTH_TRY(validate_digest(digest));
  if (::unlink(blob_path(digest).c_str()) < 0 && errno != ENOENT) return sys_error("remove blob " + std::string(digest));
  return ok();
}

Result<std::vector<std::string>> ContentStore::list() const {
  std::vector<std::string> out;
  BERTH_TRY(for_each_name(blobs_dir(), [&](const std::string& n) {
    std::string d = "sha256:" + n;
    if (is_digest(d)) out.push_back(std::move(d));
  }));
  return out;
}

Result<uint64_t> ContentStore::disk_usage() const {
  uint64_t total = 0;
  BERTH_TRY(for_each_name(blobs_dir(), [&](const std::string& n) {
    struct stat st;
    if (::stat((blobs_dir() + "/" + n).c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_size);
  }));
  return total;
}

Status ContentStore::remove_stale_ingests() {
  return for_each_name(ingest_dir(), [&](const std::string& n) {
    std::string path = ingest_dir() + "/" + n;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    UniqueFd guard(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(path.c_str());
  });
}

}  // namespace berth::agent::image
