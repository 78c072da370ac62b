#include "instance/pid_file.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "berth/common/fs.h"
#include "instance/lock.h"
#include "test_dir.h"

namespace berth::instance {
namespace {

using vmhost_test::TestDir;

// A pid that certainly belongs to no process: a child that has been reaped.
pid_t dead_pid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(PidFile, RoundTripsAndRejectsGarbage) {
  TestDir dir;
  ASSERT_TRUE(write_pid_file(dir / "a.pid", 1234));
  EXPECT_EQ(read_pid_file(dir / "a.pid"), 1234);
  EXPECT_EQ(read_pid_file(dir / "missing.pid"), std::nullopt);
  for (const char* bad : {"", "abc", "-5", "0", "12x", "1 2"}) {
    ASSERT_TRUE(fs::write_file(dir / "b.pid", bad));
    EXPECT_EQ(read_pid_file(dir / "b.pid"), std::nullopt) << bad;
  }
}

TEST(PidFile, NoFileIsNone) {
  TestDir dir;
  EXPECT_EQ(vmhost_pid_state(dir / "vmhost.pid", dir / "lock"), PidState::none);
}

TEST(PidFile, DeadPidIsStale) {
  TestDir dir;
  ASSERT_TRUE(write_pid_file(dir / "vmhost.pid", dead_pid()));
  auto lock = Lock::try_acquire(dir / "lock");
  ASSERT_TRUE(lock && *lock);
  // Even with the lock held (by this test), a dead pid is not a running vmhost.
  EXPECT_EQ(vmhost_pid_state(dir / "vmhost.pid", dir / "lock"), PidState::stale);
}

TEST(PidFile, LivePidWithoutTheLockIsNotOurs) {
  TestDir dir;
  // This test process is alive, but it holds no instance lock: a reused pid.
  ASSERT_TRUE(write_pid_file(dir / "vmhost.pid", ::getpid()));
  EXPECT_EQ(vmhost_pid_state(dir / "vmhost.pid", dir / "lock"), PidState::stale);
  ASSERT_TRUE(fs::write_file(dir / "lock", ""));
  EXPECT_EQ(vmhost_pid_state(dir / "vmhost.pid", dir / "lock"), PidState::stale);
}

TEST(PidFile, LivePidHoldingTheLockIsRunning) {
  TestDir dir;
  ASSERT_TRUE(write_pid_file(dir / "vmhost.pid", ::getpid()));
  auto lock = Lock::try_acquire(dir / "lock");
  ASSERT_TRUE(lock && *lock);
  EXPECT_EQ(vmhost_pid_state(dir / "vmhost.pid", dir / "lock"), PidState::running);
}

TEST(Lock, OnlyOneHolderAndReleasedWithTheHolder) {
  TestDir dir;
  EXPECT_FALSE(lock_held(dir / "lock").value());
  {
    auto first = Lock::try_acquire(dir / "lock");
    ASSERT_TRUE(first && *first);
    EXPECT_TRUE(lock_held(dir / "lock").value());
    auto second = Lock::try_acquire(dir / "lock");
    ASSERT_TRUE(second);
    EXPECT_FALSE(*second);
  }
  EXPECT_FALSE(lock_held(dir / "lock").value());
  auto again = Lock::try_acquire(dir / "lock");
  EXPECT_TRUE(again && *again);
}

TEST(Lock, ADeadHolderReleasesIt) {
  TestDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  UniqueFd ready_read(fds[0]);
  UniqueFd ready_write(fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto lock = Lock::try_acquire(dir / "lock");
    char c = (lock && *lock) ? 1 : 0;
    (void)!::write(ready_write.get(), &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready_read.get(), &c, 1), 1);
  ASSERT_EQ(c, 1);
  EXPECT_TRUE(lock_held(dir / "lock").value());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  EXPECT_FALSE(lock_held(dir / "lock").value());
}

}  // namespace
}  // namespace berth::instance
