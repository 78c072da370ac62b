// Small helpers for the Unix stream sockets the device listens on and connects to.
#pragma once

#include <string>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::vsock {

// Binds and listens (non-blocking, close-on-exec). A leftover socket file nobody listens
// on is replaced; a live one, or any other kind of file, is an error.
Result<UniqueFd> listen_unix(const std::string& path, int backlog);

// Connects a non-blocking socket. Unix-domain connects finish immediately or fail
// (ECONNREFUSED, ENOENT, or EAGAIN when the listener's backlog is full).
Result<UniqueFd> connect_unix(const std::string& path);

}  // namespace berth::vsock
