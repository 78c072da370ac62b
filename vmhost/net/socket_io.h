// Blocking socket helpers with deadlines, shared by the connectors, the HTTP client, QMP
// and the bridge.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::net {

using Clock = std::chrono::steady_clock;

// A listening Unix socket with the given file mode, which appears at `path` only once it
// listens (bound under a temporary name, then renamed), so that whoever waits for the
// file can connect at once. A leftover socket nobody listens on is replaced.
Result<UniqueFd> listen_unix(const std::string& path, int mode, int backlog = 128);

// A blocking connection to a Unix socket.
Result<UniqueFd> connect_unix(const std::string& path);

// Waits until fd is readable (or hung up); timeout error otherwise.
Status wait_readable(int fd, Clock::time_point deadline, std::string_view what);

Status send_all(int fd, std::string_view data, std::string_view what);

// Reads one '\n'-terminated line byte by byte, so that nothing after it is consumed.
Result<std::string> read_line(int fd, size_t max, Clock::time_point deadline, std::string_view what);

// Reads at most `max` bytes of whatever is available before the deadline; "" at EOF.
Result<std::string> read_some(int fd, size_t max, Clock::time_point deadline, std::string_view what);

}  // namespace berth::net
