#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "backends/platform.h"
#include "berth/common/log.h"
#include "process/child.h"
#include "process/output_log.h"

namespace berth::process {
namespace {

TEST(Spawn, ExecFailureIsAnErrorNotAChild) {
  platform::SpawnOptions o;
  o.argv = {"/nonexistent/program"};
  auto pid = platform::spawn(o);
  ASSERT_FALSE(pid);
  EXPECT_EQ(pid.error().sys_errno, ENOENT);
  EXPECT_NE(pid.error().what().find("/nonexistent/program"), std::string::npos);
}

TEST(Spawn, MapsFdsAndReportsExit) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  platform::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo via-fd-3 >&3; exit 7"};
  o.extra_fds = {{write_end.get(), 3}};
  auto pid = platform::spawn(o);
  ASSERT_TRUE(pid) << pid.error().what();
  write_end.reset();
  Child child(*pid);
  auto e = child.wait_for(std::chrono::seconds(10));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->describe(), "exit status 7");
  char buf[64] = {};
  EXPECT_GT(::read(read_end.get(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "via-fd-3\n");
}

TEST(Spawn, TerminateEscalatesAndDescribesTheSignal) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  platform::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "trap '' TERM; echo ready; exec sleep 30"};
  o.stdout_fd = write_end.get();
  auto pid = platform::spawn(o);
  ASSERT_TRUE(pid);
  write_end.reset();
  Child child(*pid);
  // Only once the trap is set does SIGTERM go unanswered.
  char buf[16] = {};
  ASSERT_GT(::read(read_end.get(), buf, sizeof buf), 0);
  EXPECT_FALSE(child.poll());
  auto e = child.terminate(std::chrono::milliseconds(200));
  EXPECT_TRUE(e.signaled);
  EXPECT_EQ(e.describe(), "killed by signal 9");
}

TEST(OutputLog, KeepsTheLastLine) {
  UniqueFd child_end;
  auto out = OutputLog::create("test", log::get("vmhost"), child_end);
  ASSERT_TRUE(out);
  platform::SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo first; echo 'qemu: the last words' >&2"};
  o.stdout_fd = child_end.get();
  auto pid = platform::spawn(o);
  ASSERT_TRUE(pid);
  child_end.reset();
  Child(*pid).wait_for(std::chrono::seconds(10));
  (*out)->finish();
  EXPECT_EQ((*out)->last_line(), "qemu: the last words");
}

TEST(FindProgram, SearchesPath) {
  EXPECT_EQ(find_program("sh").empty(), false);
  EXPECT_EQ(find_program("no-such-program-berth"), "");
  EXPECT_EQ(find_program("/bin/sh"), "/bin/sh");
}

}  // namespace
}  // namespace berth::process
