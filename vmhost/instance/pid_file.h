// Pid files of the vmhost and its children, and telling a live one from a stale one.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "berth/common/result.h"

namespace berth::instance {

Status write_pid_file(const std::string& path, pid_t pid);
// nullopt when missing or not a positive number.
std::optional<pid_t> read_pid_file(const std::string& path);
// kill(pid, 0): a process exists (possibly someone else's, which EPERM also means).
bool process_alive(pid_t pid);

enum class PidState {
  none,     // no pid file
  running,  // the pid is alive and the instance lock is held: our vmhost
  stale,    // left by a crashed run: the pid is dead, or alive but not holding the lock (reused)
};

// The vmhost's pid file judged against the instance lock, which only a live vmhost holds.
PidState vmhost_pid_state(const std::string& pid_file, const std::string& lock_file);

}  // namespace berth::instance
