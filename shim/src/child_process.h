// Starting helper processes (berth-runtime) with chosen stdio, from a process that blocks
// SIGCHLD for its signalfd and ignores SIGPIPE: the child gets both back to normal, since the
// container's processes inherit whatever the runtime inherits.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::shim {

struct ChildStdio {  // fds the child gets as 0, 1, 2; -1 means /dev/null
  int in = -1;
  int out = -1;
  int err = -1;
};

Result<pid_t> spawn_process(const std::vector<std::string>& argv, const ChildStdio& stdio);
// A pipe for a child's stdio: both ends close-on-exec (spawn_process dup2s the child's end
// into place); `first` is the read end, `second` the write end.
Result<FdPair> make_pipe();
Status set_nonblocking(int fd);

// Blocks until that child exits; returns its exit status (128+signal when killed).
Result<int> wait_child(pid_t pid);

}  // namespace berth::shim
