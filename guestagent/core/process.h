// Child processes of the agent, and reaping. The agent is a child subreaper (PID 1 in the VM,
// PR_SET_CHILD_SUBREAPER in native mode): shims double-fork away from their launcher and are
// re-parented to it, so it must reap them — without stealing the exit status of processes
// someone is waiting for (its own spawns, the image store's mount helper).
//
// The Reaper owns SIGCHLD. spawn() registers the child under the reaper's lock before anyone
// can reap it, and the reaper hands the status over. Zombies nobody registered are orphans
// (shims, their leftovers) and are reaped after a short grace period, which also covers
// library code that forks and waits for its own child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent {

struct ProcessResult {
  int status = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

struct SpawnOptions {
  std::string input;                               // written to stdin, then closed
  std::chrono::milliseconds timeout{60000};        // then SIGKILL
  std::vector<std::string> env;                    // empty: inherit
};

// Runs argv[0] (a path, or a name looked up in PATH) and collects its output.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// When another component reaps children (PID 1's init::ChildReaper in VM mode), run_process
// registers and waits through it instead of the Reaper below: `spawn` runs the given start
// function with its registry locked and returns the pid; `wait` returns the wait status.
struct ChildTracker {
  std::function<Result<pid_t>(const std::function<Result<pid_t>()>& start)> spawn;
  std::function<Result<int>(pid_t pid)> wait;
};
void set_child_tracker(ChildTracker tracker);

class Reaper {
 public:
  // Blocks SIGCHLD in the calling thread (call before any thread starts, so every thread
  // inherits the mask), becomes a child subreaper unless `subreaper` is false, and starts the
  // reaping thread.
  static Status start(bool subreaper);
  static bool running();
};

}  // namespace berth::agent

namespace berth::agent {
// A detached thread with a small stack, for the agent's long-lived waits (one per running
// container and per detached exec): most of their life is one blocking read.
void start_thread(std::function<void()> fn, size_t stack_size = 128 * 1024);
}  // namespace berth::agent
