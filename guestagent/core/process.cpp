#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>
#include <memory>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "berth/common/log.h"
#include "berth/common/unique_fd.h"

extern char** environ;

namespace berth::agent {

namespace {

struct Registry {
  std::mutex mu;
  std::condition_variable cv;
  std::map<pid_t, std::optional<int>> owned;  // pid → wait status once reaped
  std::atomic<bool> running{false};
};

ChildTracker& tracker() {
  static ChildTracker* t = new ChildTracker;
  return *t;
}

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: the reaper thread outlives main's locals
  return *r;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void reaper_loop() {
  auto& reg = registry();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  pid_t unknown = 0;
  auto unknown_since = std::chrono::steady_clock::now();
  for (;;) {
    siginfo_t info{};
    int rc = ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc < 0 || info.si_pid == 0) {
      timespec ts{1, 0};
      ::sigtimedwait(&set, nullptr, &ts);
      continue;
    }
    pid_t pid = info.si_pid;
    std::unique_lock lock(reg.mu);
    auto it = reg.owned.find(pid);
    if (it != reg.owned.end()) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) it->second = status;
      reg.cv.notify_all();
      continue;
    }
    lock.unlock();
    // Not ours to hand over: an orphan, or a child some library forked and is about to wait
    // for. Give the latter time to collect it.
    auto now = std::chrono::steady_clock::now();
    if (pid != unknown) {
      unknown = pid;
      unknown_since = now;
    }
    if (now - unknown_since < std::chrono::milliseconds(300)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      log::get("agent")->debug("reaped orphan {} (status {})", pid, decode_status(status));
    unknown = 0;
  }
}

Status read_into(int fd, std::string& out) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return make_error(Errc::io, "eof");
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return ok();
    return sys_error("read child output");
  }
}

}  // namespace

void set_child_tracker(ChildTracker t) { tracker() = std::move(t); }

Status Reaper::start(bool subreaper) {
  auto& reg = registry();
  if (reg.running) return ok();
  if (subreaper && ::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return sys_error("become a child subreaper");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return sys_error("block SIGCHLD");
  reg.running = true;
  std::thread(reaper_loop).detach();
  return ok();
}

bool Reaper::running() { return registry().running; }

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return make_error(Errc::invalid_argument, "run_process: empty argv");
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) < 0) return sys_error("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  // Belt and braces with O_CLOEXEC: nothing of the agent (client sockets above all) may leak
  // into a shim, which would hold connections open for the container's lifetime.
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  auto& reg = registry();
  const bool external = static_cast<bool>(tracker().spawn);
  pid_t pid = 0;
  int rc = 0;
  auto do_spawn = [&]() -> Result<pid_t> {
    rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), options.env.empty() ? environ : envp.data());
    if (rc != 0) return sys_error("run " + argv[0], rc);
    return pid;
  };
  if (external) {
    auto r = tracker().spawn(do_spawn);
    if (!r && rc == 0) rc = r.error().sys_errno ? r.error().sys_errno : EAGAIN;
  } else {
    // Registered before the reaper can see it exit.
    std::lock_guard lock(reg.mu);
    (void)do_spawn();
    if (rc == 0 && reg.running) reg.owned[pid] = std::nullopt;
  }
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return sys_error("run " + argv[0], rc);
  in_r.reset();
  out_w.reset();
  err_w.reset();

  if (!options.input.empty()) {
    std::string_view data = options.input;
    while (!data.empty()) {
      ssize_t n = ::write(in_w.get(), data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  in_w.reset();

  ProcessResult result;
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  bool out_open = true, err_open = true, killed = false;
  while (out_open || err_open) {
    pollfd p[2] = {{out_open ? out_r.get() : -1, POLLIN, 0}, {err_open ? err_r.get() : -1, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      if (!killed) ::kill(pid, SIGKILL);
      killed = true;
      break;
    }
    int r = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (out_open && p[0].revents && !read_into(out_r.get(), result.out)) out_open = false;
    if (err_open && p[1].revents && !read_into(err_r.get(), result.err)) err_open = false;
  }

  int status = 0;
  if (external) {
    auto st = tracker().wait(pid);
    if (!st) return tl::unexpected(st.error());
    status = *st;
  } else if (reg.running) {
    std::unique_lock lock(reg.mu);
    while (!reg.owned[pid]) {
      if (reg.cv.wait_for(lock, std::chrono::milliseconds(200)) == std::cv_status::timeout &&
          std::chrono::steady_clock::now() > deadline && !killed) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    status = *reg.owned[pid];
    reg.owned.erase(pid);
  } else {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  result.status = decode_status(status);
  if (killed) return make_error(Errc::timeout, argv[0] + " did not finish in time");
  return result;
}

}  // namespace berth::agent

namespace berth::agent {

namespace {
void* thread_trampoline(void* arg) {
  std::unique_ptr<std::function<void()>> fn(static_cast<std::function<void()>*>(arg));
  try {
    (*fn)();
  } catch (const std::exception& e) {
    log::get("agent")->error("thread: unhandled exception: {}", e.what());
  }
  return nullptr;
}
}  // namespace

void start_thread(std::function<void()> fn, size_t stack_size) {
  auto* heap = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack_size);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, thread_trampoline, heap);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    // Out of threads: run it here rather than lose it.
    std::unique_ptr<std::function<void()>> owned(heap);
    (*owned)();
  }
}

}  // namespace berth::agent
