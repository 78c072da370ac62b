#include "init/reaper.h"

#include <sys/wait.h>

#include <vector>

namespace berth::agent::init {

namespace {
// Enough to cover the gap between a fork elsewhere and its watch() call.
constexpr size_t kRememberedOrphans = 256;
}  // namespace

ChildReaper& ChildReaper::instance() {
  static ChildReaper* reaper = new ChildReaper;  // never destroyed: threads may outlive main
  return *reaper;
}

int exit_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

Result<pid_t> ChildReaper::spawn(const std::function<Result<pid_t>()>& start) {
  std::lock_guard lock(mu_);
  pid_t pid = BERTH_TRY(start());
  registered_[pid] = Entry{};
  return pid;
}

Result<int> ChildReaper::wait(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  if (!active_) {
    // Nobody else reaps: poll our own child (bounded, so a deadline still holds).
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        std::lock_guard lock(mu_);
        registered_.erase(pid);
        return status;
      }
      if (r < 0 && errno != EINTR) {
        // Reaped meanwhile by the reaper (it became active): fall through to the registry.
        if (active_) break;
        return sys_error("waitpid " + std::to_string(pid));
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return make_error(Errc::timeout, "process " + std::to_string(pid) + " is still running");
      }
      struct timespec ts{0, 5000000};
      ::nanosleep(&ts, nullptr);
    }
  }
  std::unique_lock lock(mu_);
  for (;;) {
    auto it = registered_.find(pid);
    if (it == registered_.end()) return make_error(Errc::not_found, "process " + std::to_string(pid) + " is not registered");
    if (it->second.status) {
      int status = *it->second.status;
      registered_.erase(it);
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return make_error(Errc::timeout, "process " + std::to_string(pid) + " is still running");
    }
    cv_.wait_until(lock, deadline);
  }
}

void ChildReaper::watch(pid_t pid, std::function<void(int status)> on_exit) {
  std::unique_lock lock(mu_);
  for (auto it = recent_orphans_.begin(); it != recent_orphans_.end(); ++it) {
    if (it->first == pid) {
      int status = it->second;
      recent_orphans_.erase(it);
      lock.unlock();
      on_exit(status);
      return;
    }
  }
  registered_[pid] = Entry{std::nullopt, std::move(on_exit)};
}

void ChildReaper::reap_all() {
  std::vector<std::pair<std::function<void(int)>, int>> callbacks;
  {
    std::lock_guard lock(mu_);
    for (;;) {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      auto it = registered_.find(pid);
      if (it == registered_.end()) {
        ++orphans_;
        recent_orphans_.emplace_back(pid, status);
        if (recent_orphans_.size() > kRememberedOrphans) recent_orphans_.pop_front();
      } else if (it->second.on_exit) {
        callbacks.emplace_back(std::move(it->second.on_exit), status);
        registered_.erase(it);
      } else {
        it->second.status = status;
      }
    }
  }
  cv_.notify_all();
  for (auto& [fn, status] : callbacks) fn(status);
}

uint64_t ChildReaper::orphans_reaped() const {
  std::lock_guard lock(mu_);
  return orphans_;
}

}  // namespace berth::agent::init
