#include "options.h"

#include <gtest/gtest.h>

namespace berth::shim {
namespace {

std::vector<std::string> base() {
  return {"--id", "c1", "--bundle", "/b", "--state-dir", "/s", "--runtime", "/bin/rt", "--runtime-root", "/run/rt"};
}

TEST(ShimOptions, RequiredAndDefaults) {
  auto o = parse_options(base());
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_EQ(o->id, "c1");
  EXPECT_EQ(o->state_dir, "/s");
  EXPECT_EQ(o->log_path, "/s/container.log");
  EXPECT_FALSE(o->tty);
  EXPECT_EQ(o->log_max_size, 0u);
  EXPECT_EQ(o->log_max_files, 1);

  for (const char* required : {"--id", "--bundle", "--state-dir", "--runtime", "--runtime-root"}) {
    auto args = base();
    auto it = std::find(args.begin(), args.end(), required);
    args.erase(it, it + 2);
    auto r = parse_options(args);
    ASSERT_FALSE(r) << required;
    EXPECT_NE(r.error().message.find(std::string(required) + " is required"), std::string::npos);
  }
}

TEST(ShimOptions, FlagsAndValues) {
  auto args = base();
  args.insert(args.end(), {"--tty", "--stdin", "--stdin-once", "--no-start", "--no-pivot", "--log-max-size=10m",
                           "--log-max-files", "3", "--log-path", "/l/c.log"});
  auto o = parse_options(args);
  ASSERT_TRUE(o) << o.error().what();
  EXPECT_TRUE(o->tty && o->open_stdin && o->stdin_once && o->no_start && o->no_pivot);
  EXPECT_EQ(o->log_max_size, 10u << 20);
  EXPECT_EQ(o->log_max_files, 3);
  EXPECT_EQ(o->log_path, "/l/c.log");
}

TEST(ShimOptions, BadInputIsExplained) {
  auto with = [](std::vector<std::string> extra) {
    auto args = base();
    args.insert(args.end(), extra.begin(), extra.end());
    return parse_options(args);
  };
  EXPECT_NE(with({"--bogus"}).error().message.find("unknown option \"--bogus\""), std::string::npos);
  EXPECT_NE(with({"--log-max-files", "0"}).error().message.find("--log-max-files"), std::string::npos);
  EXPECT_NE(with({"--log-max-size", "12q"}).error().message.find("--log-max-size"), std::string::npos);
  EXPECT_NE(with({"--stdin-once"}).error().message.find("needs --stdin"), std::string::npos);
  EXPECT_NE(with({"--no-log", "--log-path", "/x"}).error().message.find("exclude"), std::string::npos);
  EXPECT_NE(with({"--tty=1"}).error().message.find("takes no value"), std::string::npos);
  EXPECT_NE(with({"--log-path"}).error().message.find("a value is required"), std::string::npos);
}

TEST(ShimOptions, Sizes) {
  EXPECT_EQ(*parse_size("100"), 100u);
  EXPECT_EQ(*parse_size("1k"), 1024u);
  EXPECT_EQ(*parse_size("2M"), 2u << 20);
  EXPECT_EQ(*parse_size("1g"), 1u << 30);
  EXPECT_EQ(*parse_size("3mb"), 3u << 20);
  EXPECT_FALSE(parse_size(""));
  EXPECT_FALSE(parse_size("-1"));
  EXPECT_FALSE(parse_size("1t"));
  EXPECT_FALSE(parse_size("99999999999999999999g"));
}

}  // namespace
}  // namespace berth::shim
