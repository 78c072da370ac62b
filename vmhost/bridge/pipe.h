// Byte pipe between two connected stream sockets, both directions at once.
#pragma once

#include <cstdint>

namespace berth::bridge {

struct PipeStats {
  uint64_t a_to_b = 0;
  uint64_t b_to_a = 0;
};

// Copies until both directions are finished. EOF from one side is passed on as
// shutdown(SHUT_WR) to the other, so a half-closed stream stays half-closed (Docker's
// hijacked attach/exec: the client closes stdin and still reads the output). An error in
// either direction aborts both. Blocking I/O, one extra thread: each direction may block
// on a slow peer without stalling the other.
PipeStats pipe_streams(int a, int b);

// Ends a running pipe_streams() on these sockets from another thread.
void abort_streams(int a, int b);

}  // namespace berth::bridge
