// The container log in Docker's json-file format, so the agent can serve `docker logs` from it
// the way dockerd does: one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-21T23:51:26.123456789Z"}
// rotated to <path>.1, <path>.2, ... once the file has reached max_size.
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "berth/shim/frame.h"

namespace berth::shim {

struct JsonLogOptions {
  std::string path;
  uint64_t max_size = 0;  // bytes; 0: never rotate (Docker's max-size -1)
  int max_files = 1;      // files kept, the current one included (Docker's max-file)
};

// Like dockerd, a line longer than this is written in pieces (entries without the newline).
inline constexpr size_t kMaxLogLine = 16 * 1024;

// Appends `s` as a JSON string the way dockerd's json-file writer escapes it: any bytes give
// valid JSON (invalid UTF-8 becomes U+FFFD) and <, >, & are \u-escaped.
void append_json_string(std::string& out, std::string_view s);

// One entry, newline included.
std::string format_log_entry(std::string_view log, Stream stream, const struct timespec& time);

class JsonFileLog {
 public:
  // Opens (appending to) options.path; a restarted container keeps its earlier lines.
  static Result<JsonFileLog> open(JsonLogOptions options);

  // Splits `data` into lines, one entry each; the tail without newline waits for the rest.
  Status write(Stream stream, std::string_view data, const struct timespec& now);
  // The stream ended: writes its unfinished last line, if any.
  Status finish(Stream stream, const struct timespec& now);

  uint64_t size() const { return size_; }

 private:
  Status append_entry(std::string_view log, Stream stream, const struct timespec& now);
  Status flush();
  Status rotate();

  JsonLogOptions options_;
  UniqueFd fd_;
  uint64_t size_ = 0;     // bytes in the current file, written or pending
  std::string pending_;   // entries not yet written
  std::string partial_[3];  // unfinished line per stream (indexed by Stream)
};

}  // namespace berth::shim
