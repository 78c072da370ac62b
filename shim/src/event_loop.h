// A small level-triggered epoll loop: the shim's only thread waits here.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::shim {

class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  static Result<EventLoop> create();

  // Registers fd (which the caller keeps owning) and returns a token naming the registration.
  // Tokens are never reused, so an event for an fd removed (and its number reused) earlier
  // in the same batch is dropped instead of reaching the wrong handler.
  Result<uint64_t> add(int fd, uint32_t events, Handler handler);
  Status modify(uint64_t token, uint32_t events);
  // Unregisters; call before closing the fd (epoll keys on the open file, not the number).
  void remove(uint64_t token);
  // Waits up to timeout_ms (-1: forever) and runs the handlers of the ready fds.
  Status run_once(int timeout_ms);

 private:
  struct Entry {
    int fd;
    uint32_t events;
    std::shared_ptr<Handler> handler;  // shared: a handler may remove itself while running
  };
  UniqueFd epoll_;
  std::unordered_map<uint64_t, Entry> entries_;
  uint64_t next_token_ = 1;
};

}  // namespace berth::shim
