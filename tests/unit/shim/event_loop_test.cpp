#include "event_loop.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "child_process.h"

namespace berth::shim {
namespace {

TEST(ShimEventLoop, RunsHandlersOfReadyFds) {
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  auto p = make_pipe();
  ASSERT_TRUE(p);
  int calls = 0;
  auto token = loop->add(p->first.get(), EPOLLIN, [&](uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    char c;
    EXPECT_EQ(::read(p->first.get(), &c, 1), 1);
    ++calls;
  });
  ASSERT_TRUE(token);
  ASSERT_TRUE(loop->run_once(0));
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(::write(p->second.get(), "x", 1), 1);
  ASSERT_TRUE(loop->run_once(1000));
  EXPECT_EQ(calls, 1);
}

TEST(ShimEventLoop, AHandlerMayRemoveItselfAndOthers) {
  auto loop = EventLoop::create();
  auto a = make_pipe(), b = make_pipe();
  ASSERT_EQ(::write(a->second.get(), "x", 1), 1);
  ASSERT_EQ(::write(b->second.get(), "x", 1), 1);
  uint64_t ta = 0, tb = 0;
  int calls = 0;
  auto handler = [&](uint32_t) {
    ++calls;
    loop->remove(ta);
    loop->remove(tb);
  };
  ta = *loop->add(a->first.get(), EPOLLIN, handler);
  tb = *loop->add(b->first.get(), EPOLLIN, handler);
  ASSERT_TRUE(loop->run_once(1000));
  EXPECT_EQ(calls, 1);  // the second registration was removed before its event was handled
  ASSERT_TRUE(loop->run_once(0));
  EXPECT_EQ(calls, 1);
}

TEST(ShimEventLoop, ModifyChangesInterest) {
  auto loop = EventLoop::create();
  auto p = make_pipe();
  int writable = 0;
  auto t = *loop->add(p->second.get(), 0, [&](uint32_t e) { writable += (e & EPOLLOUT) ? 1 : 0; });
  ASSERT_TRUE(loop->run_once(0));
  EXPECT_EQ(writable, 0);
  ASSERT_TRUE(loop->modify(t, EPOLLOUT));
  ASSERT_TRUE(loop->run_once(1000));
  EXPECT_EQ(writable, 1);
  EXPECT_FALSE(loop->modify(12345, EPOLLIN));
}

}  // namespace
}  // namespace berth::shim
