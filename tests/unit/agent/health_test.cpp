// Health-check rules (start period, retries, streaks, log and output caps) and the scheduler.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/container.h"
#include "core/health.h"

namespace berth::agent {
namespace {

constexpr int64_t kSec = 1'000'000'000;

HealthLogEntry result(int code, std::string out = "") { return {"2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z", code, out}; }

TEST(HealthTest, EnabledOnlyForCmdAndCmdShell) {
  EXPECT_FALSE(health_enabled(std::nullopt));
  EXPECT_FALSE(health_enabled(HealthConfig{}));
  EXPECT_FALSE(health_enabled(HealthConfig{{"NONE"}}));
  EXPECT_FALSE(health_enabled(HealthConfig{{"CMD"}}));
  EXPECT_TRUE(health_enabled(HealthConfig{{"CMD", "true"}}));
  EXPECT_TRUE(health_enabled(HealthConfig{{"CMD-SHELL", "test -f /x"}}));
  EXPECT_EQ(probe_command({"CMD-SHELL", "test -f /x"}), (std::vector<std::string>{"/bin/sh", "-c", "test -f /x"}));
  EXPECT_EQ(probe_command({"CMD", "cat", "/x"}), (std::vector<std::string>{"cat", "/x"}));
}

TEST(HealthTest, RetriesConsecutiveFailuresMakeItUnhealthy) {
  HealthConfig h{{"CMD", "false"}};
  h.retries = 2;
  HealthState s;
  EXPECT_FALSE(record_probe(s, h, result(1), 10 * kSec));
  EXPECT_EQ(s.status, kHealthStarting);
  EXPECT_EQ(s.failing_streak, 1);
  EXPECT_TRUE(record_probe(s, h, result(1), 20 * kSec));
  EXPECT_EQ(s.status, kHealthUnhealthy);
  EXPECT_EQ(s.failing_streak, 2);
  // A success resets the streak and makes it healthy.
  EXPECT_TRUE(record_probe(s, h, result(0), 30 * kSec));
  EXPECT_EQ(s.status, kHealthHealthy);
  EXPECT_EQ(s.failing_streak, 0);
  // One failure of a healthy container is not enough; -1 (timeout) is a failure too.
  EXPECT_FALSE(record_probe(s, h, result(-1), 40 * kSec));
  EXPECT_EQ(s.status, kHealthHealthy);
  EXPECT_EQ(s.failing_streak, 1);
}

TEST(HealthTest, DefaultRetriesAreThree) {
  HealthConfig h{{"CMD", "false"}};
  HealthState s;
  record_probe(s, h, result(1), 0);
  record_probe(s, h, result(1), 0);
  EXPECT_EQ(s.status, kHealthStarting);
  record_probe(s, h, result(1), 0);
  EXPECT_EQ(s.status, kHealthUnhealthy);
}

TEST(HealthTest, StartPeriodFailuresDoNotCountButSuccessDoes) {
  HealthConfig h{{"CMD", "false"}};
  h.retries = 1;
  h.start_period = 60 * kSec;
  HealthState s;
  EXPECT_FALSE(record_probe(s, h, result(1), 5 * kSec));
  EXPECT_EQ(s.failing_streak, 0);
  EXPECT_EQ(s.status, kHealthStarting);
  EXPECT_TRUE(record_probe(s, h, result(0), 10 * kSec));
  EXPECT_EQ(s.status, kHealthHealthy);
  // Once healthy, failures count even inside the start period.
  EXPECT_TRUE(record_probe(s, h, result(1), 15 * kSec));
  EXPECT_EQ(s.status, kHealthUnhealthy);
  // After the start period a starting container's failures count.
  HealthState t;
  EXPECT_TRUE(record_probe(t, h, result(1), 61 * kSec));
  EXPECT_EQ(t.status, kHealthUnhealthy);
}

TEST(HealthTest, IntervalsFollowTheStartPeriod) {
  HealthConfig h{{"CMD", "true"}};
  HealthState s;
  EXPECT_EQ(next_probe_delay_ns(h, s, 0), 30 * kSec);  // no start period: the interval at once
  h.start_period = 60 * kSec;
  EXPECT_EQ(next_probe_delay_ns(h, s, 0), 5 * kSec);
  h.start_interval = 2 * kSec;
  EXPECT_EQ(next_probe_delay_ns(h, s, 10 * kSec), 2 * kSec);
  EXPECT_EQ(next_probe_delay_ns(h, s, 60 * kSec), 30 * kSec);
  s.status = kHealthHealthy;
  h.interval = 7 * kSec;
  EXPECT_EQ(next_probe_delay_ns(h, s, 10 * kSec), 7 * kSec);
  EXPECT_EQ(probe_timeout_ns(h), 30 * kSec);
}

TEST(HealthTest, LogKeepsTheLastFive) {
  HealthConfig h{{"CMD", "true"}};
  HealthState s;
  for (int i = 0; i < 8; ++i) record_probe(s, h, result(0, std::to_string(i)), 0);
  ASSERT_EQ(s.log.size(), 5u);
  EXPECT_EQ(s.log.front().output, "3");
  EXPECT_EQ(s.log.back().output, "7");
}

TEST(HealthTest, OutputIsCappedAt4096Bytes) {
  std::string out;
  bool truncated = false;
  append_probe_output(out, std::string(4000, 'a'), truncated);
  EXPECT_FALSE(truncated);
  append_probe_output(out, std::string(200, 'b'), truncated);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(out.size(), 4096u);
  append_probe_output(out, "c", truncated);
  EXPECT_EQ(out.size(), 4096u);
}

TEST(HealthTest, PersistedAndShownLikeDockerd) {
  ContainerState st;
  st.running = true;
  st.status = "running";
  st.started_at = "2024-01-01T00:00:00Z";
  EXPECT_EQ(to_json(st).count("Health"), 0u);
  st.health = HealthState{};
  st.health->log.push_back(result(1, "no"));
  st.health->failing_streak = 1;
  Json j = to_json(st);
  EXPECT_EQ(j["Health"]["Status"], "starting");
  EXPECT_EQ(j["Health"]["FailingStreak"], 1);
  EXPECT_EQ(j["Health"]["Log"][0]["Output"], "no");
  EXPECT_EQ(j["Health"]["Log"][0]["ExitCode"], 1);
  int64_t now = *parse_time_ns("2024-01-01T00:00:03Z");
  EXPECT_EQ(status_text(st, now), "Up 3 seconds (health: starting)");
  st.health->status = kHealthHealthy;
  EXPECT_EQ(status_text(st, now), "Up 3 seconds (healthy)");

  Container c;
  c.id = std::string(64, 'a');
  c.state = st;
  auto back = container_from_json(to_json(c));
  ASSERT_TRUE(back) << back.error().what();
  ASSERT_TRUE(back->state.health);
  EXPECT_EQ(back->state.health->status, kHealthHealthy);
  EXPECT_EQ(back->state.health->failing_streak, 1);
  ASSERT_EQ(back->state.health->log.size(), 1u);
  EXPECT_EQ(back->state.health->log[0].output, "no");
  EXPECT_EQ(go_duration(30 * kSec), "30s");
  EXPECT_EQ(go_duration(1500000000), "1.5s");
  EXPECT_EQ(go_duration(500000000), "500ms");
  EXPECT_EQ(go_duration(90 * kSec), "1m30s");
}

TEST(HealthTest, SchedulerRunsDueProbesAndStopsOnUnwatch) {
  std::mutex mu;
  std::vector<std::string> runs;
  HealthScheduler* self = nullptr;
  HealthScheduler sched(
      [&](const std::string& id, uint64_t gen) {
        {
          std::lock_guard lock(mu);
          runs.push_back(id + ":" + std::to_string(gen));
        }
        self->rearm(id, gen, 5'000'000);  // 5 ms
      },
      [](std::function<void()> fn) { std::thread(std::move(fn)).detach(); });
  self = &sched;
  sched.watch("a", 1, 0);
  sched.watch("b", 2, 3'600 * kSec);  // not due during this test
  auto count = [&](const std::string& key) {
    std::lock_guard lock(mu);
    return std::count(runs.begin(), runs.end(), key);
  };
  for (int i = 0; i < 200 && count("a:1") < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_GE(count("a:1"), 3);
  EXPECT_EQ(count("b:2"), 0);
  // A stale run's rearm is ignored after re-watching with a newer run.
  sched.watch("a", 3, 3'600 * kSec);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto before = count("a:1");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(count("a:1"), before);
  sched.unwatch("a");
  EXPECT_FALSE(sched.watching("a"));
  EXPECT_TRUE(sched.watching("b"));
  sched.stop();
  EXPECT_FALSE(sched.watching("b"));
}

}  // namespace
}  // namespace berth::agent
