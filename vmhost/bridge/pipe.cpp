#include "bridge/pipe.h"

#include <sys/socket.h>

#include <cerrno>
#include <thread>

namespace berth::bridge {

namespace {

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
