// Blocking-style I/O on the agent's non-blocking stream sockets: handlers run on worker
// threads and write whole responses, so these poll() until the socket is ready, bounded by a
// timeout, instead of spinning on EAGAIN.
#pragma once

#include <cstddef>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent::http {

inline constexpr int kWriteTimeoutMs = 120000;

Status set_nonblocking(int fd);
Status set_cloexec(int fd);
// Writes everything (MSG_NOSIGNAL on sockets, write(2) otherwise). Errc::timeout when the peer
// does not read for timeout_ms.
Status write_all(int fd, std::string_view data, int timeout_ms = kWriteTimeoutMs);
// One read of at most `size` bytes; 0 at end of file. timeout_ms < 0 waits forever;
// Errc::timeout when nothing arrived in time.
Result<size_t> read_some(int fd, char* buf, size_t size, int timeout_ms = -1);
// Waits until `fd` is readable (or hung up). false on timeout.
bool wait_readable(int fd, int timeout_ms);
// True when the peer has closed or reset the connection (no bytes are consumed). Used by
// long waits that write nothing for a while (wait, events) to notice a client that left.
bool peer_closed(int fd);
// True only when the peer is gone in both directions. A hijacked attach must outlive a
// client that half-closed (`docker run -i` closes stdin once its input is sent and
// still reads the output), so it waits on this rather than on peer_closed().
bool peer_hung_up(int fd);
// Ends a hijacked stream without a reset: sends end of file, then reads and discards what
// the client still sends until it closes (bounded by timeout_ms). Closing a socket with
// unread input makes the kernel send RST, and a client that typed into a terminal while the
// process exited would see "connection reset by peer" instead of the exit code.
void linger_before_close(int fd, int timeout_ms);

}  // namespace berth::agent::http
