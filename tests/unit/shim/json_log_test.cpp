#include "json_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "berth/common/json.h"
#include "process.h"
#include "timefmt.h"

namespace berth::shim {
namespace {

const struct timespec kTime = {1795305086, 123456789};  // 2026-11-21T23:51:26.123456789Z

std::vector<Json> read_entries(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(Json::parse(line));
  return out;
}

class ShimJsonFileLogTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = test::make_temp_dir("berth-shim-log"); }
  void TearDown() override { test::remove_tree(dir_); }
  std::string path() const { return dir_ + "/container.log"; }
  std::string dir_;
};

TEST(ShimRfcTime, NineFractionalDigitsInUtc) {
  EXPECT_EQ(rfc3339_nano(kTime), "2026-11-21T23:51:26.123456789Z");
  EXPECT_EQ(rfc3339_nano({0, 5}), "1970-01-01T00:00:00.000000005Z");
}

TEST(ShimJsonLogFormat, DockerShape) {
  EXPECT_EQ(format_log_entry("hello\n", Stream::out, kTime),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-21T23:51:26.123456789Z\"}\n");
  EXPECT_EQ(format_log_entry("oops\n", Stream::err, kTime),
            "{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-21T23:51:26.123456789Z\"}\n");
}

TEST(ShimJsonLogFormat, EscapesLikeDockerAndStaysValidJson) {
  std::string out;
  append_json_string(out, "a\"b\\c\t\r\x01<>&");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\t\\r\\u0001\\u003c\\u003e\\u0026\"");

  out.clear();
  append_json_string(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");  // é € 😀 pass through
  EXPECT_EQ(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");

  out.clear();
  append_json_string(out, "\xff\xc3(\xe2\x80\xa8\xed\xa0\x80\xc0\xaf");  // invalid, U+2028, surrogate, overlong
  EXPECT_EQ(out, "\"\\ufffd\\ufffd(\\u2028\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");

  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  auto parsed = Json::parse(format_log_entry(all, Stream::out, kTime));
  EXPECT_TRUE(parsed["log"].is_string());
}

TEST_F(ShimJsonFileLogTest, OneEntryPerLineAndPartialLinesWait) {
  auto log = JsonFileLog::open({path(), 0, 1});
  ASSERT_TRUE(log) << log.error().what();
  ASSERT_TRUE(log->write(Stream::out, "one\ntw", kTime));
  ASSERT_TRUE(log->write(Stream::err, "e1\n", kTime));
  ASSERT_TRUE(log->write(Stream::out, "o\nthree", kTime));
  auto entries = read_entries(path());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["log"], "one\n");
  EXPECT_EQ(entries[1]["log"], "e1\n");
  EXPECT_EQ(entries[1]["stream"], "stderr");
  EXPECT_EQ(entries[2]["log"], "two\n");
  EXPECT_EQ(entries[2]["time"], "2026-11-21T23:51:26.123456789Z");
  // The stream ends: its unfinished line is written without a newline.
  ASSERT_TRUE(log->finish(Stream::out, kTime));
  entries = read_entries(path());
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[3]["log"], "three");
}

TEST_F(ShimJsonFileLogTest, LongLinesAreCutAt16KiB) {
  auto log = JsonFileLog::open({path(), 0, 1});
  ASSERT_TRUE(log);
  std::string line(40000, 'x');
  line += "\n";
  ASSERT_TRUE(log->write(Stream::out, line, kTime));
  auto entries = read_entries(path());
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["log"].get<std::string>().size(), kMaxLogLine);
  EXPECT_EQ(entries[1]["log"].get<std::string>().size(), kMaxLogLine);
  EXPECT_EQ(entries[2]["log"].get<std::string>(), std::string(40000 - 2 * kMaxLogLine, 'x') + "\n");
}

TEST_F(ShimJsonFileLogTest, ReopeningAppends) {
  {
    auto log = JsonFileLog::open({path(), 0, 1});
    ASSERT_TRUE(log->write(Stream::out, "first run\n", kTime));
  }
  auto log = JsonFileLog::open({path(), 0, 1});
  EXPECT_GT(log->size(), 0u);
  ASSERT_TRUE(log->write(Stream::out, "second run\n", kTime));
  auto entries = read_entries(path());
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1]["log"], "second run\n");
}

TEST_F(ShimJsonFileLogTest, RotatesKeepingMaxFiles) {
  const std::string entry = format_log_entry("0123456789\n", Stream::out, kTime);
  auto log = JsonFileLog::open({path(), entry.size() * 2, 3});
  ASSERT_TRUE(log);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(log->write(Stream::out, "0123456789\n", kTime));
  // 2 entries per file; 9 entries: the current file has 1, .1 and .2 have 2 each, the rest
  // were rotated away.
  EXPECT_EQ(read_entries(path()).size(), 1u);
  EXPECT_EQ(read_entries(path() + ".1").size(), 2u);
  EXPECT_EQ(read_entries(path() + ".2").size(), 2u);
  EXPECT_FALSE(test::path_exists(path() + ".3"));
  for (const char* suffix : {"", ".1", ".2"})
    EXPECT_LE(std::filesystem::file_size(path() + suffix), entry.size() * 2) << suffix;
}

TEST_F(ShimJsonFileLogTest, SingleFileIsTruncatedWhenFull) {
  const std::string entry = format_log_entry("abc\n", Stream::out, kTime);
  auto log = JsonFileLog::open({path(), entry.size() * 3, 1});
  ASSERT_TRUE(log);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(log->write(Stream::out, "abc\n", kTime));
  EXPECT_EQ(read_entries(path()).size(), 1u);
  EXPECT_FALSE(test::path_exists(path() + ".1"));
}

TEST_F(ShimJsonFileLogTest, OpenFailsWithThePath) {
  auto log = JsonFileLog::open({dir_ + "/missing/dir/x.log", 0, 1});
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().what().find("missing/dir/x.log"), std::string::npos);
}

}  // namespace
}  // namespace berth::shim
