// PID 1 inherits every orphan and must reap it, or zombies pile up. It must also not steal
// the exit status of a child someone is waiting for. The reaper is that arbiter: on SIGCHLD
// (PID 1's signal loop calls reap_all()) it collects every exited child; a child registered
// here has its status kept for wait() or handed to a callback, anything else is an orphan
// and is discarded (the last few are remembered for watch() calls that come late).
//
// Registering: spawn() starts the child with the registry locked, so it is registered before
// the reaper can see it exit. A child started elsewhere can be watch()ed afterwards: if it
// already exited, its status comes from the remembered orphans.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "berth/common/result.h"

namespace berth::agent::init {

class ChildReaper {
 public:
  static ChildReaper& instance();

  // True once PID 1's signal loop reaps; before that (or outside PID 1) callers wait for
  // their own children with waitpid().
  bool active() const { return active_; }
  void set_active(bool on) { active_ = on; }

  // Calls `start` (fork/posix_spawn, returning the pid) with the registry locked and
  // registers the pid for wait().
  Result<pid_t> spawn(const std::function<Result<pid_t>()>& start);
  // The wait status of a child from spawn(), once it exited; Errc::timeout when it is still
  // running at `deadline` (it stays registered: call again). Works when inactive too.
  Result<int> wait(pid_t pid, std::chrono::steady_clock::time_point deadline);
  // Hands the status of `pid` to `on_exit` (on the reaper's thread) when it exits.
  void watch(pid_t pid, std::function<void(int status)> on_exit);

  // Collects every exited child (waitpid(-1, WNOHANG) until none is left).
  void reap_all();
  // Orphans reaped so far (for /berth/v1/info and tests).
  uint64_t orphans_reaped() const;

 private:
  struct Entry {
    std::optional<int> status;
    std::function<void(int)> on_exit;
  };
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<pid_t, Entry> registered_;
  std::deque<std::pair<pid_t, int>> recent_orphans_;
  uint64_t orphans_ = 0;
  bool active_ = false;
};

// Exit code of a wait status: the code, or 128 + signal as shells report it.
int exit_code(int wait_status);

}  // namespace berth::agent::init
