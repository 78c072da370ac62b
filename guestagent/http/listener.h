// Listening sockets the server accepts from. Any SOCK_STREAM socket works: a Unix socket in
// native mode, AF_VSOCK in the VM (the caller creates it and hands the fd over).
#pragma once

#include <sys/types.h>

#include <string>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::agent::http {

struct Listener {
  UniqueFd fd;
  int family = 0;           // AF_UNIX, AF_VSOCK, …
  std::string description;  // for logs: "unix:/run/berth.sock"
};

// Binds a Unix socket at `path` with `mode` (created so, not chmod-ed later: no window where
// others could connect), replacing a stale socket file. Refuses to replace anything else.
Result<Listener> listen_unix(const std::string& path, mode_t mode = 0600, int backlog = 1024);
// Takes a socket that is already listening (or bound: listen() is called).
Result<Listener> adopt_listener(UniqueFd fd, std::string description, int backlog = 1024);

}  // namespace berth::agent::http
