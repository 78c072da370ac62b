#include "init/shutdown.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>
#include <thread>

#include "berth/common/fs.h"
#include "init/console.h"
#include "init/reaper.h"

namespace berth::agent::init {

namespace {

bool wait_for_no_processes(std::chrono::milliseconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    // Reaping here too: the signal loop may be slower than this poll, and an agent's own
    // reaper may hold each unknown zombie back for a grace period. Containers are stopped
    // by now; nobody is waiting for these statuses any more.
    if (ChildReaper::instance().active()) {
      ChildReaper::instance().reap_all();
    } else {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
    }
    if (!any_process_left()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool under(const std::string& path, const std::string& root) {
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

// Targets of current mounts, in mount order, with /proc/mounts' octal escapes decoded.
std::vector<std::string> mount_targets() {
  std::vector<std::string> out;
  auto text = fs::read_file("/proc/self/mounts");
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, target;
    fields >> source >> target;
    std::string decoded;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == '\\' && i + 3 < target.size()) {
        decoded += static_cast<char>((target[i + 1] - '0') * 64 + (target[i + 2] - '0') * 8 + (target[i + 3] - '0'));
        i += 3;
      } else {
        decoded += target[i];
      }
    }
    out.push_back(decoded);
  }
  return out;
}

}  // namespace

bool any_process_left() {
  siginfo_t info{};
  int rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
  return !(rc < 0 && errno == ECHILD);
}

void terminate_all_processes(std::chrono::milliseconds budget) {
  if (!any_process_left()) return;
  logger()->info("stopping all processes (SIGTERM, SIGKILL after {} ms)", budget.count());
  ::kill(-1, SIGTERM);
  if (wait_for_no_processes(budget)) return;
  logger()->warn("processes still running after {} ms; killing them", budget.count());
  ::kill(-1, SIGKILL);
  if (!wait_for_no_processes(std::chrono::seconds(5))) logger()->warn("some processes did not die after SIGKILL");
}

void unmount_all(const std::vector<std::string>& roots) {
  auto targets = mount_targets();
  for (const auto& root : roots) {
    std::vector<std::string> mine;
    for (const auto& t : targets)
      if (under(t, root)) mine.push_back(t);
    if (mine.empty()) continue;
    // Later mounts sit on earlier ones: undo them in reverse.
    std::reverse(mine.begin(), mine.end());
    bool root_done = false;
    for (const auto& t : mine) {
      if (::umount2(t.c_str(), 0) == 0) {
        if (t == root) root_done = true;
        continue;
      }
      int e = errno;
      if (t != root) {
        ::umount2(t.c_str(), MNT_DETACH);
        continue;
      }
      // Still busy (a process we could not kill holds it): read-only makes the data safe.
      if (::mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0) {
        logger()->warn("{} is busy ({}); remounted read-only", t, std::strerror(e));
      } else {
        logger()->error("cannot unmount {}: {}", t, std::strerror(e));
      }
      root_done = true;
    }
    if (root_done && ::access(root.c_str(), F_OK) == 0) {
      bool still = false;
      for (const auto& t : mount_targets()) still = still || t == root;
      if (!still) logger()->info("unmounted {}", root);
    }
  }
}

void power_off() {
  ::sync();
  logger()->info("powering off");
  ::reboot(RB_POWER_OFF);
  logger()->error("reboot(RB_POWER_OFF) failed: {}", std::strerror(errno));
  for (;;) ::pause();
}

}  // namespace berth::agent::init
