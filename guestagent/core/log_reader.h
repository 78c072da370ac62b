// Reading a container's json-file log (written by berth-shim, rotated as dockerd rotates:
// <path>.N … <path>.1, <path>) for GET /containers/{id}/logs and attach's `logs`:
// since/until/tail/stream selection, timestamps, and following the file as it grows.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent {

struct LogEntry {
  std::string stream;  // "stdout" or "stderr"
  std::string text;    // the bytes as written, newline included
  std::string time;    // RFC 3339 with nanoseconds, as in the file
  int64_t time_ns = 0;
};

// One line of the file; nullopt for anything that is not an entry.
std::optional<LogEntry> parse_log_line(std::string_view line);

struct LogQuery {
  bool stdout = true;
  bool stderr = true;
  bool timestamps = false;
  int64_t since_ns = 0;             // 0: from the start
  int64_t until_ns = 0;             // 0: no end
  std::optional<int64_t> tail;      // last N entries; nullopt: all
};

// Docker's wire form of one entry: an 8-byte frame header (multiplexed, without a TTY) or the
// bare text, each prefixed with "<time> " when `timestamps`.
std::string format_log_entry(const LogEntry& e, bool timestamps, bool multiplexed);

using LogSink = std::function<Status(const LogEntry&)>;

// Calls `sink` for each selected entry in order. With `follow`, keeps reading as the file
// grows (following rotation) until `should_stop()` returns true — it is asked when no new data
// has arrived for a while — and everything written up to then has been delivered.
// A missing log is empty, not an error.
Status read_logs(const std::string& path, const LogQuery& q, bool follow, const LogSink& sink,
                 const std::function<bool()>& should_stop = {});

}  // namespace berth::agent
