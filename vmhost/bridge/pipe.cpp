#include "bridge/pipe.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <thread>

namespace berth::bridge {

namespace {

// After `from` half-closed: waits until it is gone in both directions. That happens either
// because the other direction finished too (we shut `from`'s write side) or because the
// client closed outright without reading the rest; only the second needs passing on, but
// passing on a close of an already finished pipe is harmless. Without it a client that
// left while the far side had nothing to say would stay half-open there for ever (an
// attach waiting for its container to start never learns the client is gone).
void wait_for_hangup(int from, int to) {
  pollfd p{from, 0, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
  abort_streams(from, to);
}

// Returns the bytes copied; false in `clean` when it ended with an error.
uint64_t copy(int from, int to, bool& clean) {
  char buf[65536];
  uint64_t total = 0;
  clean = true;
  for (;;) {
    ssize_t n = ::recv(from, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      ::shutdown(to, SHUT_WR);
      wait_for_hangup(from, to);
      return total;
    }
    if (n < 0) break;
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      ssize_t w = ::send(to, buf + off, static_cast<size_t>(n) - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        clean = false;
        abort_streams(from, to);
        return total;
      }
      off += static_cast<size_t>(w);
    }
    total += static_cast<uint64_t>(n);
  }
  clean = false;
  abort_streams(from, to);
  return total;
}

}  // namespace

void abort_streams(int a, int b) {
  ::shutdown(a, SHUT_RDWR);
  ::shutdown(b, SHUT_RDWR);
}

PipeStats pipe_streams(int a, int b) {
  PipeStats stats;
  bool clean_ba = true;
  std::thread back([&] { stats.b_to_a = copy(b, a, clean_ba); });
  bool clean_ab = true;
  stats.a_to_b = copy(a, b, clean_ab);
  back.join();
  return stats;
}

}  // namespace berth::bridge
