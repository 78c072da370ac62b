// status.json: what the vmhost is doing, written by it and read by the CLI (start's
// progress, `berth status`). The lock says whether a vmhost is alive; this file says
// what it is doing, or, once it is gone, why it stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "berth/common/result.h"

namespace berth::instance {

enum class State { starting, running, stopping, stopped };

std::string_view state_name(State state);

struct RunState {
  State state = State::stopped;
  std::string step;     // while starting: what it is waiting for ("booting the VM")
  std::string reason;   // once stopped: why, when it was not a requested stop
  int64_t pid = 0;      // the vmhost's pid
  std::string backend;  // "qemu (tcg)"
  int64_t updated = 0;  // unix seconds

  // "running", "starting (booting the VM)", "stopped (QEMU exited unexpectedly: ...)".
  std::string describe() const;
};

std::string to_json(const RunState& state);
Result<RunState> run_state_from_json(std::string_view text);

Status write_run_state(const std::string& path, const RunState& state);
// nullopt when the file is missing or unreadable (e.g. an instance that never started).
std::optional<RunState> read_run_state(const std::string& path);

// What `berth status` shows: the file as written while a vmhost holds the lock; once the
// lock is free, always "stopped" — with the recorded reason, or, when the file still
// claims to be running, the news that the host process died.
RunState effective_state(std::optional<RunState> recorded, bool vmhost_alive);

}  // namespace berth::instance
