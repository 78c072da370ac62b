#include "runtime_cli.h"

#include <gtest/gtest.h>

namespace berth::shim {
namespace {

TEST(ShimRuntimeCli, ArgvPutsGlobalOptionsFirst) {
  RuntimeCli rt{"/bin/berth-runtime", "/run/r", "/s/runtime.log"};
  auto argv = runtime_argv(rt, {"start", "c1"});
  std::vector<std::string> want = {"/bin/berth-runtime", "--root", "/run/r", "--log", "/s/runtime.log", "--log-format", "json", "start", "c1"};
  EXPECT_EQ(argv, want);
  rt.log_file.clear();
  EXPECT_EQ(runtime_argv(rt, {"state", "c1"}).size(), 5u);
}

TEST(ShimRuntimeCli, LastErrorComesFromTheJsonLog) {
  std::string log =
      "{\"level\":\"warning\",\"msg\":\"c1: no swap\",\"time\":\"t\"}\n"
      "{\"level\":\"error\",\"msg\":\"first\",\"time\":\"t\"}\n"
      "{\"level\":\"error\",\"msg\":\"container init: exec \"nope\": no such file\",\"time\":\"t\"}\n";
  // The runtime does not escape quotes in messages; the text is recovered all the same.
  EXPECT_EQ(last_runtime_error(log), "container init: exec \"nope\": no such file");
  EXPECT_EQ(last_runtime_error("{\"level\":\"error\",\"msg\":\"plain\",\"time\":\"t\"}"), "plain");
  EXPECT_EQ(last_runtime_error("{\"level\":\"info\",\"msg\":\"x\"}\n"), "");
  EXPECT_EQ(last_runtime_error(""), "");
}

TEST(ShimRuntimeCli, FailureCarriesTheMessageOrTheStatus) {
  // /bin/false as "runtime": no log, so the exit status is reported.
  RuntimeCli rt{"/bin/false", "/nonexistent", ""};
  auto st = run_runtime(rt, {"start", "c1"}, ChildStdio{});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("berth-runtime start failed with exit status 1"), std::string::npos);
  RuntimeCli good{"/bin/true", "/nonexistent", ""};
  EXPECT_TRUE(run_runtime(good, {"start", "c1"}, ChildStdio{}));
}

}  // namespace
}  // namespace berth::shim
