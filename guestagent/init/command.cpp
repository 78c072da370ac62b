#include "init/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "berth/common/unique_fd.h"
#include "init/reaper.h"

extern char** environ;

namespace berth::agent::init {

namespace {

CommandRunner& custom_runner() {
  static CommandRunner* runner = new CommandRunner;
  return *runner;
}

Result<FdPair> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe");
  return FdPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Reads what is available; false at end of file or on error.
bool drain(int fd, std::string& out, size_t limit) {
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (out.size() < limit) out.append(buf, std::min(static_cast<size_t>(n), limit - out.size()));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

Result<CommandResult> builtin_run(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (argv.empty()) return make_error(Errc::invalid_argument, "run_command: empty argv");
  FdPair in = BERTH_TRY(make_pipe()), out = BERTH_TRY(make_pipe()), err = BERTH_TRY(make_pipe());

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in.first.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out.second.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err.second.get(), 2);
  // PID 1 blocks the signals its loop handles; children start with none blocked and the
  // default dispositions.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  auto& reaper = ChildReaper::instance();
  auto pid = reaper.spawn([&]() -> Result<pid_t> {
    pid_t p = 0;
    int rc = ::posix_spawn(&p, args[0], &fa, &attr, args.data(), environ);
    if (rc != 0) return sys_error("run " + argv[0], rc);
    return p;
  });
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (!pid) return tl::unexpected(pid.error());
  in.first.reset();
  out.second.reset();
  err.second.reset();

  // Small inputs only (the test hook's): written before reading, so a child that fills its
  // output pipe before reading all of stdin would stall; fine for what this runs.
  std::string_view input = options.input;
  while (!input.empty()) {
    ssize_t n = ::write(in.second.get(), input.data(), input.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    input.remove_prefix(static_cast<size_t>(n));
  }
  in.second.reset();

  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  CommandResult result;
  ::fcntl(out.first.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err.first.get(), F_SETFL, O_NONBLOCK);
  bool out_open = true, err_open = true, killed = false;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      ::kill(*pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p[2] = {{out_open ? out.first.get() : -1, POLLIN, 0}, {err_open ? err.first.get() : -1, POLLIN, 0}};
    int r = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    if (out_open && p[0].revents && !drain(out.first.get(), result.out, options.max_output)) out_open = false;
    if (err_open && p[1].revents && !drain(err.first.get(), result.err, options.max_output)) err_open = false;
  }
  // Output closed: the child is exiting (or killed); a grandchild holding the pipes open
  // is not waited for beyond the deadline.
  auto wait_deadline = killed ? std::chrono::steady_clock::now() + std::chrono::seconds(5) : deadline;
  auto status = reaper.wait(*pid, wait_deadline);
  if (!status && status.error().code == Errc::timeout && !killed) {
    ::kill(*pid, SIGKILL);
    killed = true;
    status = reaper.wait(*pid, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  }
  if (killed) return make_error(Errc::timeout, argv[0] + " did not finish within " +
                                                   std::to_string(options.timeout.count()) + " ms");
  if (!status) return tl::unexpected(status.error());
  result.exit_code = exit_code(*status);
  return result;
}

}  // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
  if (auto& custom = custom_runner()) return custom(argv, options);
  return builtin_run(argv, options);
}

void set_command_runner(CommandRunner runner) { custom_runner() = std::move(runner); }

}  // namespace berth::agent::init
