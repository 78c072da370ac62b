#include "instance/run_state.h"

#include <gtest/gtest.h>

#include "test_dir.h"

namespace berth::instance {
namespace {

TEST(RunState, RoundTrips) {
  vmhost_test::TestDir dir;
  RunState st;
  st.state = State::starting;
  st.step = "booting";
  st.pid = 42;
  st.backend = "qemu (tcg)";
  st.updated = 1000;
  ASSERT_TRUE(write_run_state(dir / "status.json", st));
  auto back = read_run_state(dir / "status.json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->state, State::starting);
  EXPECT_EQ(back->step, "booting");
  EXPECT_EQ(back->pid, 42);
  EXPECT_EQ(back->backend, "qemu (tcg)");
  EXPECT_FALSE(read_run_state(dir / "missing.json"));
  EXPECT_FALSE(run_state_from_json(R"({"state":"dancing"})"));
}

TEST(RunState, DescribeShowsStepOrReason) {
  RunState st;
  st.state = State::stopped;
  st.reason = "QEMU exited unexpectedly: killed by signal 9";
  EXPECT_EQ(st.describe(), "stopped (QEMU exited unexpectedly: killed by signal 9)");
  st.state = State::starting;
  st.step = "waiting for the guest agent";
  EXPECT_EQ(st.describe(), "starting (waiting for the guest agent)");
  st.state = State::running;
  EXPECT_EQ(st.describe(), "running");
}

TEST(RunState, EffectiveStateTrustsTheLock) {
  RunState running;
  running.state = State::running;
  EXPECT_EQ(effective_state(running, true).state, State::running);
  // The file says running but no vmhost holds the lock: it died.
  auto dead = effective_state(running, false);
  EXPECT_EQ(dead.state, State::stopped);
  EXPECT_NE(dead.reason.find("died unexpectedly"), std::string::npos);
  RunState stopped;
  stopped.state = State::stopped;
  stopped.reason = "QEMU exited unexpectedly: killed by signal 9";
  EXPECT_EQ(effective_state(stopped, false).describe(), "stopped (QEMU exited unexpectedly: killed by signal 9)");
  EXPECT_EQ(effective_state(std::nullopt, false).describe(), "stopped");
  // A fresh vmhost that has not written the file yet.
  EXPECT_EQ(effective_state(std::nullopt, true).state, State::starting);
  EXPECT_EQ(effective_state(stopped, true).state, State::starting);
}

}  // namespace
}  // namespace berth::instance
