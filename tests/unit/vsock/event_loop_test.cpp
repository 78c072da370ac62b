#include "vsock/event_loop.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace berth::vsock {
namespace {

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelWorks) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::vector<int> fired;
  (*loop)->add_timer(std::chrono::milliseconds(30), [&] { fired.push_back(3); });
  (*loop)->add_timer(std::chrono::milliseconds(10), [&] { fired.push_back(1); });
  auto cancelled = (*loop)->add_timer(std::chrono::milliseconds(20), [&] { fired.push_back(2); });
  (*loop)->add_timer(std::chrono::milliseconds(40), [&] { (*loop)->stop(); });
  (*loop)->cancel_timer(cancelled);
  ASSERT_TRUE((*loop)->run());
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
}

TEST(EventLoop, CallbackMayRemoveItselfAndOthers) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  UniqueFd a(::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK));
  UniqueFd b(::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK));
  int calls = 0;
  // Both are ready in the same batch; whichever runs first removes both.
  auto cb = [&](uint32_t) {
    ++calls;
    (*loop)->remove(a.get());
    (*loop)->remove(b.get());
  };
  ASSERT_TRUE((*loop)->add(a.get(), EPOLLIN, cb));
  ASSERT_TRUE((*loop)->add(b.get(), EPOLLIN, cb));
  (*loop)->add_timer(std::chrono::milliseconds(50), [&] { (*loop)->stop(); });
  ASSERT_TRUE((*loop)->run());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, ZeroInterestSilencesHangup) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd r(fds[0]), w(fds[1]);
  w.reset();  // the read end now reports EPOLLHUP forever
  int calls = 0;
  ASSERT_TRUE((*loop)->add(r.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    ASSERT_TRUE((*loop)->modify(r.get(), 0));
  }));
  (*loop)->add_timer(std::chrono::milliseconds(50), [&] { (*loop)->stop(); });
  ASSERT_TRUE((*loop)->run());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, StopFromAnotherThread) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (*loop)->stop();
  });
  EXPECT_TRUE((*loop)->run());
  stopper.join();
}

}  // namespace
}  // namespace berth::vsock
