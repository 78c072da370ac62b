// Running a helper program to completion (mke2fs, e2fsck, the debug/exec test hook) with its
// output captured, waiting through the ChildReaper so PID 1's reaping cannot steal the status.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::init {

struct CommandResult {
  int exit_code = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

struct CommandOptions {
  std::string input;  // written to stdin, then closed
  std::chrono::milliseconds timeout{60000};  // then SIGKILL and Errc::timeout
  size_t max_output = 4 << 20;               // per stream; more is dropped
};

using CommandRunner = std::function<Result<CommandResult>(const std::vector<std::string>& argv, const CommandOptions&)>;

// argv[0] is a path (no PATH lookup: PID 1's environment is the kernel's).
Result<CommandResult> run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// Replaces the implementation behind run_command(), for an agent that brings its own reaper
// (Pid1Options::processes). Call before boot starts.
void set_command_runner(CommandRunner runner);

}  // namespace berth::agent::init
