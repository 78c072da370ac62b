// Unix sockets: the shim's control socket and the console socket that receives pty masters.
#pragma once

#include <string>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::shim {

// Listens on `path` (replacing a stale socket file there), non-blocking, mode 0600.
Result<UniqueFd> listen_unix(const std::string& path, int backlog);
// Accepts one connection, non-blocking and close-on-exec. Errc::timeout-free: EAGAIN gives an
// empty UniqueFd.
Result<UniqueFd> accept_unix(int listen_fd);
// Waits up to timeout_ms for a peer on the console socket and receives the fd it sends
// (SCM_RIGHTS, as `berth-runtime --console-socket` and runc send a pty master).
Result<UniqueFd> receive_console(int listen_fd, int timeout_ms);
// True if something accepts connections on `path` (a shim already serving there).
bool socket_is_live(const std::string& path);
// Throws away connections queued on a console socket by a runtime call that failed.
void drain_connections(int listen_fd);

}  // namespace berth::shim
