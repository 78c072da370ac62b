// Layer streams: compression detected by magic bytes (gzip, zstd, xz, bzip2 or none) and
// decompressed with libarchive's filters, whatever the media type claimed.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "berth/common/result.h"

struct archive;

namespace berth::agent::image {

enum class Compression { none, gzip, zstd, xz, bzip2 };

std::string_view compression_name(Compression c);
Compression detect_compression(const unsigned char* head, size_t size);
// Looks at the first bytes of `fd` with pread, leaving the file offset alone.
Result<Compression> detect_compression(int fd);

// Reads the decompressed bytes of the stream in `fd` (starting at the fd's current offset).
class DecompressReader {
 public:
  static Result<std::unique_ptr<DecompressReader>> open(int fd, Compression c);
  ~DecompressReader();
  DecompressReader(const DecompressReader&) = delete;
  DecompressReader& operator=(const DecompressReader&) = delete;

  // 0 at end of stream.
  Result<size_t> read(void* buf, size_t size);

 private:
  DecompressReader(int fd, Compression c) : fd_(fd), compression_(c) {}
  int fd_;
  Compression compression_;
  struct archive* archive_ = nullptr;
  bool eof_ = false;
};

}  // namespace berth::agent::image
