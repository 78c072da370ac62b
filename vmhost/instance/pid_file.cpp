#include "instance/pid_file.h"

#include <signal.h>

#include <cerrno>
#include <charconv>

#include "berth/common/fs.h"
#include "instance/lock.h"

namespace berth::instance {

Status write_pid_file(const std::string& path, pid_t pid) {
  return fs::replace_file(path, std::to_string(pid) + "\n", 0644);
}

std::optional<pid_t> read_pid_file(const std::string& path) {
  auto text = fs::read_file(path);
  if (!text) return std::nullopt;
  std::string_view s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (ec != std::errc() || end != s.data() + s.size() || pid <= 0) return std::nullopt;
  return pid;
}

bool process_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

PidState vmhost_pid_state(const std::string& pid_file, const std::string& lock_file) {
  if (!fs::exists(pid_file)) return PidState::none;
  auto pid = read_pid_file(pid_file);
  if (!pid || !process_alive(*pid)) return PidState::stale;
  auto held = lock_held(lock_file);
  // A pid that is alive while nobody holds the lock was reused by an unrelated process.
  if (!held || !*held) return PidState::stale;
  return PidState::running;
}

}  // namespace berth::instance
