#include "event_loop.h"

#include <cerrno>

namespace berth::shim {

Result<EventLoop> EventLoop::create() {
  EventLoop loop;
  loop.epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!loop.epoll_) return sys_error("epoll_create1");
  return loop;
}

Result<uint64_t> EventLoop::add(int fd, uint32_t events, Handler handler) {
  uint64_t token = next_token_++;
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return sys_error("epoll add fd " + std::to_string(fd));
  entries_.emplace(token, Entry{fd, events, std::make_shared<Handler>(std::move(handler))});
  return token;
}

Status EventLoop::modify(uint64_t token, uint32_t events) {
  auto it = entries_.find(token);
  if (it == entries_.end()) return make_error(Errc::not_found, "epoll: no such registration");
  if (it->second.events == events) return ok();
  struct epoll_event ev {};
  ev.events = events;
  ev.data.u64 = token;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, it->second.fd, &ev) < 0) return sys_error("epoll modify");
  it->second.events = events;
  return ok();
}

void EventLoop::remove(uint64_t token) {
  auto it = entries_.find(token);
  if (it == entries_.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
  entries_.erase(it);
}

Status EventLoop::run_once(int timeout_ms) {
  struct epoll_event events[32];
  int n = ::epoll_wait(epoll_.get(), events, 32, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return ok();
    return sys_error("epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    auto it = entries_.find(events[i].data.u64);
    if (it == entries_.end()) continue;
    std::shared_ptr<Handler> handler = it->second.handler;
    (*handler)(events[i].events);
  }
  return ok();
}

}  // namespace berth::shim
