#include "decompress.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cstring>

namespace berth::agent::image {

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::none: return "none";
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    case Compression::xz: return "xz";
    case Compression::bzip2: return "bzip2";
  }
  return "unknown";
}

Compression detect_compression(const unsigned char* h, size_t n) {
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return Compression::gzip;
  if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd) return Compression::zstd;
  if (n >= 6 && std::memcmp(h, "\xfd" "7zXZ\0", 6) == 0) return Compression::xz;
  if (n >= 3 && std::memcmp(h, "BZh", 3) == 0) return Compression::bzip2;
  return Compression::none;
}

Result<Compression> detect_compression(int fd) {
  unsigned char head[8] = {};
  off_t pos = ::lseek(fd, 0, SEEK_CUR);
  if (pos < 0) pos = 0;
  ssize_t n;
  do n = ::pread(fd, head, sizeof head, pos);
  while (n < 0 && errno == EINTR);
  if (n < 0) return sys_error("read layer header");
  return detect_compression(head, static_cast<size_t>(n));
}

Result<std::unique_ptr<DecompressReader>> DecompressReader::open(int fd, Compression c) {
  std::unique_ptr<DecompressReader> r(new DecompressReader(fd, c));
  if (c == Compression::none) return r;
  r->archive_ = archive_read_new();
  if (!r->archive_) return make_error(Errc::internal, "archive_read_new failed");
  int rc = ARCHIVE_FATAL;
  switch (c) {
    case Compression::gzip: rc = archive_read_support_filter_gzip(r->archive_); break;
    case Compression::zstd: rc = archive_read_support_filter_zstd(r->archive_); break;
    case Compression::xz: rc = archive_read_support_filter_xz(r->archive_); break;
    case Compression::bzip2: rc = archive_read_support_filter_bzip2(r->archive_); break;
    case Compression::none: break;
  }
  // ARCHIVE_WARN means libarchive would shell out to an external program; refuse that too.
  if (rc != ARCHIVE_OK)
    return make_error(Errc::unsupported, "libarchive lacks built-in " + std::string(compression_name(c)) + " support");
  archive_read_support_format_raw(r->archive_);
  if (archive_read_open_fd(r->archive_, fd, 128 * 1024) != ARCHIVE_OK)
    return make_error(Errc::invalid_argument, std::string("open compressed layer: ") + archive_error_string(r->archive_));
  struct archive_entry* e = nullptr;
  int hr = archive_read_next_header(r->archive_, &e);
  if (hr == ARCHIVE_EOF) {
    r->eof_ = true;
    return r;
  }
  if (hr != ARCHIVE_OK && hr != ARCHIVE_WARN) {
    const char* msg = archive_error_string(r->archive_);
    return make_error(Errc::invalid_argument, std::string("corrupt ") + std::string(compression_name(c)) +
                                                  " stream: " + (msg ? msg : "no data"));
  }
  return r;
}

DecompressReader::~DecompressReader() {
  if (archive_) archive_read_free(archive_);
}

Result<size_t> DecompressReader::read(void* buf, size_t size) {
  if (!archive_) {
    for (;;) {
      ssize_t n = ::read(fd_, buf, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("read layer");
      return static_cast<size_t>(n);
    }
  }
  if (eof_) return size_t{0};
  la_ssize_t n = archive_read_data(archive_, buf, size);
  if (n < 0) {
    const char* msg = archive_error_string(archive_);
    return make_error(Errc::invalid_argument, std::string("corrupt ") + std::string(compression_name(compression_)) +
                                                  " stream: " + (msg ? msg : "read error"));
  }
  return static_cast<size_t>(n);
}

}  // namespace berth::agent::image
