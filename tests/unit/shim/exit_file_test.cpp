#include "exit_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>

#include "process.h"

namespace berth::shim {
namespace {

TEST(ShimExitFile, WritesAtomicallyAndReadsBack) {
  std::string dir = test::make_temp_dir("berth-shim-exit");
  ExitRecord r;
  r.id = "c1";
  r.pid = 1234;
  r.exit_code = 143;
  r.signal = 15;
  r.started_at = "2026-11-21T23:51:26.123456789Z";
  r.finished_at = "2026-11-21T23:51:30.000000000Z";
  ASSERT_TRUE(write_exit_file(dir + "/exit.json", r));
  // Only the file itself: the temporary it was written through has been renamed away.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++files;
    EXPECT_EQ(e.path().filename(), "exit.json");
  }
  EXPECT_EQ(files, 1);
  auto back = read_exit_file(dir + "/exit.json");
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->id, "c1");
  EXPECT_EQ(back->pid, 1234);
  EXPECT_EQ(back->exit_code, 143);
  EXPECT_EQ(back->signal, 15);
  EXPECT_EQ(back->started_at, r.started_at);
  EXPECT_EQ(back->finished_at, r.finished_at);
  test::remove_tree(dir);
}

TEST(ShimExitFile, MissingOrMalformedIsAnError) {
  EXPECT_EQ(read_exit_file("/nonexistent/exit.json").error().code, Errc::not_found);
  auto bad = parse_exit_record(R"({"id":"c1"})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("exit_code: required"), std::string::npos);
}

TEST(ShimExitFile, WaitStatusToDockerExitCode) {
  int sig = -1;
  EXPECT_EQ(exit_code_from_wait_status(3 << 8, &sig), 3);  // exited with 3
  EXPECT_EQ(sig, 0);
  EXPECT_EQ(exit_code_from_wait_status(SIGKILL, &sig), 137);  // killed by 9
  EXPECT_EQ(sig, SIGKILL);
}

}  // namespace
}  // namespace berth::shim
