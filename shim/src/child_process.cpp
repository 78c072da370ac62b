#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/common/unique_fd.h"
#include "exit_file.h"

extern char** environ;

namespace berth::shim {

namespace {

// posix_spawn_file_actions are applied in order, so a source fd below 3 could be overwritten
// by an earlier dup2; move such sources out of the way first.
Result<UniqueFd> above_stdio(int fd) {
  if (fd < 0 || fd > 2) return UniqueFd();
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return sys_error("dup stdio fd");
  return UniqueFd(moved);
}

struct SpawnAttrs {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttrs() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

}  // namespace

Result<pid_t> spawn_process(const std::vector<std::string>& argv, const ChildStdio& stdio) {
  if (argv.empty()) return make_error(Errc::invalid_argument, "spawn: empty command");
  int fds[3] = {stdio.in, stdio.out, stdio.err};
  UniqueFd moved[3];
  for (int i = 0; i < 3; ++i) {
    moved[i] = BERTH_TRY(above_stdio(fds[i]));
    if (moved[i]) fds[i] = moved[i].get();
  }
  SpawnAttrs a;
  for (int i = 0; i < 3; ++i) {
    int rc = fds[i] < 0 ? posix_spawn_file_actions_addopen(&a.actions, i, "/dev/null", O_RDWR, 0)
                        : posix_spawn_file_actions_adddup2(&a.actions, fds[i], i);
    if (rc != 0) return sys_error("spawn: file actions", rc);
  }
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&a.attr, &none);
  posix_spawnattr_setsigdefault(&a.attr, &defaults);
  posix_spawnattr_setflags(&a.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0], &a.actions, &a.attr, args.data(), environ);
  if (rc != 0) return sys_error("spawn " + argv[0], rc);
  return pid;
}

Result<FdPair> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe");
  return FdPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return sys_error("set O_NONBLOCK");
  return ok();
}

Result<int> wait_child(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return sys_error("waitpid " + std::to_string(pid));
  }
  int signal = 0;
  return exit_code_from_wait_status(status, &signal);
}

}  // namespace berth::shim
