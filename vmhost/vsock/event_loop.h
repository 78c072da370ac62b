// EventLoop: the one epoll loop the userspace vsock device runs on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::vsock {

// Single-threaded: every callback runs on the thread inside run(). Only stop() may be
// called from another thread (or a signal handler).
class EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerCallback = std::function<void()>;
  using TimerId = uint64_t;
  using Clock = std::chrono::steady_clock;

  static Result<std::unique_ptr<EventLoop>> create();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // Watches `fd` (not owned) for `events` (EPOLLIN / EPOLLOUT). With events == 0 the
  // callback stays registered but the fd leaves the epoll set: epoll reports EPOLLHUP even
  // for an empty mask, so this is the only way to stop hearing from a hung-up socket.
  Status add(int fd, uint32_t events, FdCallback callback);
  Status modify(int fd, uint32_t events);
  void remove(int fd);
  bool contains(int fd) const { return entries_.count(fd) != 0; }

  TimerId add_timer(std::chrono::milliseconds delay, TimerCallback callback);
  void cancel_timer(TimerId id);

  // Dispatches until stop(). Returns an error only when epoll itself fails.
  Status run();
  // Async-signal-safe.
  void stop();

 private:
  struct Entry {
    uint32_t generation = 0;
    uint32_t events = 0;
    bool in_epoll = false;
    FdCallback callback;
  };

  EventLoop(UniqueFd epoll, UniqueFd wake, UniqueFd timer);
  Status apply(int fd, Entry& entry, uint32_t events);
  void dispatch(uint64_t data, uint32_t events);
  void fire_timers();
  void rearm_timer();

  UniqueFd epoll_;
  UniqueFd wake_;
  UniqueFd timer_fd_;
  std::atomic<bool> stopping_{false};
  uint32_t next_generation_ = 1;
  // shared_ptr so a callback that removes its own fd does not destroy itself mid-call.
  std::unordered_map<int, std::shared_ptr<Entry>> entries_;
  TimerId next_timer_ = 1;
  std::map<std::pair<Clock::time_point, TimerId>, TimerCallback> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;
};

}  // namespace berth::vsock
