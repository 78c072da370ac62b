// The reaper and run_command as PID 1 uses them, in an ordinary process: it becomes a child
// subreaper so orphans come back to it, and a thread plays the signal loop's part.
#include "init/reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "init/command.h"

namespace berth::agent::init {
namespace {

using namespace std::chrono_literals;

class ReaperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    ChildReaper::instance().set_active(true);
    loop_ = std::thread([this] {
      while (!stop_) {
        ChildReaper::instance().reap_all();
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  void TearDown() override {
    stop_ = true;
    loop_.join();
    ChildReaper::instance().set_active(false);
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

TEST_F(ReaperTest, RunCommandGetsItsOwnStatusAndOutput) {
  for (int i = 0; i < 20; ++i) {  // many times: the reaping loop must never steal the status
    auto r = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->exit_code, 7);
    EXPECT_EQ(r->out, "out\n");
    EXPECT_EQ(r->err, "err\n");
  }
  CommandOptions o;
  o.input = "piped";
  auto cat = run_command({"/bin/cat"}, o);
  ASSERT_TRUE(cat);
  EXPECT_EQ(cat->out, "piped");
}

TEST_F(ReaperTest, TimeoutKills) {
  CommandOptions o;
  o.timeout = 200ms;
  auto r = run_command({"/bin/sleep", "30"}, o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
}

TEST_F(ReaperTest, OrphansAreReaped) {
  uint64_t before = ChildReaper::instance().orphans_reaped();
  // The shell exits at once; its background child becomes ours and exits a moment later.
  auto r = run_command({"/bin/sh", "-c", "sleep 0.1 & exit 0"});
  ASSERT_TRUE(r);
  for (int i = 0; i < 200 && ChildReaper::instance().orphans_reaped() == before; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(ChildReaper::instance().orphans_reaped(), before);
  siginfo_t info{};
  int rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  EXPECT_TRUE((rc < 0 && errno == ECHILD) || (rc == 0 && info.si_pid == 0)) << "a zombie is left: " << info.si_pid;
}

TEST_F(ReaperTest, WatchAfterExitStillGetsTheStatus) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(3);
  // Give the loop time to reap it as an unknown child first.
  std::this_thread::sleep_for(100ms);
  std::atomic<int> status{-1};
  ChildReaper::instance().watch(pid, [&](int s) { status = s; });
  for (int i = 0; i < 100 && status < 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(status.load(), 0);
  EXPECT_EQ(exit_code(status), 3);
}

TEST(Reaper, WaitWithoutTheLoop) {
  ASSERT_FALSE(ChildReaper::instance().active());
  auto r = run_command({"/bin/sh", "-c", "exit 5"});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->exit_code, 5);
  EXPECT_EQ(exit_code(9 /* killed by SIGKILL */), 128 + 9);
}

}  // namespace
}  // namespace berth::agent::init
