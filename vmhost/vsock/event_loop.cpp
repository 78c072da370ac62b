#include "event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <array>
#include <cerrno>

namespace berth::vsock {
namespace {

// Reserved fds in the epoll data word; real fds are never negative.
constexpr int kWakeToken = -2;
constexpr int kTimerToken = -3;

uint64_t pack(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return sys_error("epoll_create1");
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return sys_error("eventfd");
  UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer) return sys_error("timerfd_create");

  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = pack(kWakeToken, 0);
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) return sys_error("epoll_ctl(wake)");
  ev.data.u64 = pack(kTimerToken, 0);
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, timer.get(), &ev) != 0) return sys_error("epoll_ctl(timer)");
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(wake), std::move(timer)));
}

EventLoop::EventLoop(UniqueFd epoll, UniqueFd wake, UniqueFd timer)
    : epoll_(std::move(epoll)), wake_(std::move(wake)), timer_fd_(std::move(timer)) {}

EventLoop::~EventLoop() = default;

Status EventLoop::apply(int fd, Entry& entry, uint32_t events) {
  if (events == 0) {
    if (entry.in_epoll && ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0) {
      return sys_error("epoll_ctl(DEL)");
    }
    entry.in_epoll = false;
    entry.events = 0;
    return ok();
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = pack(fd, entry.generation);
  int op = entry.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (entry.in_epoll && entry.events == events) return ok();
  if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) return sys_error("epoll_ctl");
  entry.in_epoll = true;
  entry.events = events;
  return ok();
}

Status EventLoop::add(int fd, uint32_t events, FdCallback callback) {
  if (fd < 0) return make_error(Errc::invalid_argument, "event loop: negative fd");
  if (entries_.count(fd)) return make_error(Errc::already_exists, "event loop: fd already watched");
  auto entry = std::make_shared<Entry>();
  entry->generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;
  entry->callback = std::move(callback);
  BERTH_TRY(apply(fd, *entry, events));
  entries_.emplace(fd, std::move(entry));
  return ok();
}

Status EventLoop::modify(int fd, uint32_t events) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return make_error(Errc::not_found, "event loop: fd not watched");
  return apply(fd, *it->second, events);
}

void EventLoop::remove(int fd) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return;
  if (it->second->in_epoll) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  entries_.erase(it);
}

EventLoop::TimerId EventLoop::add_timer(std::chrono::milliseconds delay, TimerCallback callback) {
  TimerId id = next_timer_++;
  auto deadline = Clock::now() + delay;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  timer_deadlines_.emplace(id, deadline);
  rearm_timer();
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadlines_.erase(it);
  rearm_timer();
}

void EventLoop::rearm_timer() {
  itimerspec spec{};
  if (!timers_.empty()) {
    auto delta = timers_.begin()->first.first - Clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
    // A zero it_value disarms the timer, so an overdue deadline still gets 1 ns.
    if (ns < 1) ns = 1;
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
  }
  ::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr);
}

void EventLoop::fire_timers() {
  uint64_t expirations = 0;
  while (::read(timer_fd_.get(), &expirations, sizeof expirations) > 0) {
  }
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().second);
    node.mapped()();
  }
  rearm_timer();
}

void EventLoop::dispatch(uint64_t data, uint32_t events) {
  int fd = static_cast<int>(static_cast<uint32_t>(data));
  uint32_t generation = static_cast<uint32_t>(data >> 32);
  if (fd == kWakeToken) {
    uint64_t value = 0;
    while (::read(wake_.get(), &value, sizeof value) > 0) {
    }
    return;
  }
  if (fd == kTimerToken) {
    fire_timers();
    return;
  }
  auto it = entries_.find(fd);
  // The fd may have been removed (and its number reused) by an earlier callback of this batch.
  if (it == entries_.end() || it->second->generation != generation) return;
  std::shared_ptr<Entry> entry = it->second;
  entry->callback(events);
}

Status EventLoop::run() {
  std::array<epoll_event, 64> events{};
  while (!stopping_.load(std::memory_order_acquire)) {
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("epoll_wait");
    }
    for (int i = 0; i < n && !stopping_.load(std::memory_order_acquire); ++i) {
      dispatch(events[i].data.u64, events[i].events);
    }
  }
  return ok();
}

void EventLoop::stop() {
  stopping_.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

}  // namespace berth::vsock
