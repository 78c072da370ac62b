// Reading json-file logs: since/until/tail across rotated files, streams, timestamps, the
// wire formats, and following a growing file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "berth/common/json.h"
#include "berth/shim/frame.h"
#include "core/log_reader.h"
#include "process.h"

namespace berth::agent {
namespace {

std::string line(const std::string& text, const std::string& stream, int sec) {
  char t[64];
  std::snprintf(t, sizeof t, "2024-01-01T00:00:%02d.000000001Z", sec);
  return Json{{"log", text}, {"stream", stream}, {"time", t}}.dump() + "\n";
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::make_temp_dir("berth-logs");
    path_ = dir_ + "/c-json.log";
    // Rotated: .1 holds seconds 0-2, the live file 3-5. Odd seconds on stderr.
    std::string rotated, live;
    for (int s = 0; s < 3; ++s) rotated += line("l" + std::to_string(s) + "\n", s % 2 ? "stderr" : "stdout", s);
    for (int s = 3; s < 6; ++s) live += line("l" + std::to_string(s) + "\n", s % 2 ? "stderr" : "stdout", s);
    test::write_file(path_ + ".1", rotated);
    test::write_file(path_, live + "garbage line\n");
  }
  void TearDown() override { test::remove_tree(dir_); }
  std::vector<std::string> read(const LogQuery& q) {
    std::vector<std::string> out;
    auto st = read_logs(path_, q, false, [&](const LogEntry& e) {
      out.push_back(e.text.substr(0, e.text.size() - 1));
      return ok();
    });
    EXPECT_TRUE(st);
    return out;
  }
  std::string dir_, path_;
};

int64_t at(int sec) { return (1704067200LL + sec) * 1000000000LL; }

TEST_F(LogTest, AllInOrderAcrossRotation) {
  EXPECT_EQ(read({}), (std::vector<std::string>{"l0", "l1", "l2", "l3", "l4", "l5"}));
}

TEST_F(LogTest, Streams) {
  LogQuery q;
  q.stderr = false;
  EXPECT_EQ(read(q), (std::vector<std::string>{"l0", "l2", "l4"}));
  q.stderr = true;
  q.stdout = false;
  EXPECT_EQ(read(q), (std::vector<std::string>{"l1", "l3", "l5"}));
}

TEST_F(LogTest, SinceUntil) {
  LogQuery q;
  q.since_ns = at(2);
  EXPECT_EQ(read(q), (std::vector<std::string>{"l2", "l3", "l4", "l5"}));
  q.until_ns = at(4);
  EXPECT_EQ(read(q), (std::vector<std::string>{"l2", "l3"}));
}

TEST_F(LogTest, Tail) {
  LogQuery q;
  q.tail = 2;
  // The garbage line counts as a line of the file but is not an entry.
  EXPECT_EQ(read(q), (std::vector<std::string>{"l5"}));
  q.tail = 5;
  EXPECT_EQ(read(q), (std::vector<std::string>{"l2", "l3", "l4", "l5"}));
  q.tail = 0;
  EXPECT_TRUE(read(q).empty());
  q.tail = 100;
  EXPECT_EQ(read(q).size(), 6u);
}

TEST_F(LogTest, WireFormats) {
  auto e = parse_log_line(line("hi\n", "stderr", 7));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->stream, "stderr");
  EXPECT_EQ(e->time_ns, at(7) + 1);
  EXPECT_EQ(format_log_entry(*e, false, false), "hi\n");
  EXPECT_EQ(format_log_entry(*e, true, false), "2024-01-01T00:00:07.000000001Z hi\n");
  auto framed = format_log_entry(*e, false, true);
  ASSERT_EQ(framed.size(), 11u);
  EXPECT_EQ(framed[0], 2);
  EXPECT_EQ(framed[7], 3);
  EXPECT_EQ(framed.substr(8), "hi\n");
  EXPECT_FALSE(parse_log_line("not json"));
  EXPECT_FALSE(parse_log_line(""));
}

TEST_F(LogTest, FollowsUntilStopped) {
  std::atomic<bool> stop{false};
  std::vector<std::string> got;
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::ofstream(path_, std::ios::app) << line("late\n", "stdout", 9);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  LogQuery q;
  q.tail = 1;
  auto st = read_logs(
      path_, q, true,
      [&](const LogEntry& e) {
        got.push_back(e.text);
        return ok();
      },
      [&] { return stop.load(); });
  writer.join();
  ASSERT_TRUE(st);
  EXPECT_EQ(got, (std::vector<std::string>{"late\n"}));
}

TEST(Logs, MissingFileIsEmpty) {
  int n = 0;
  EXPECT_TRUE(read_logs("/nonexistent/berth.log", {}, false, [&](const LogEntry&) {
    ++n;
    return ok();
  }));
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace berth::agent
