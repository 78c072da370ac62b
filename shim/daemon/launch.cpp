// Bringing the container up: become the reaper, create its stdio, `berth-runtime create`
// (and `start`), then open the control socket.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/common/fs.h"
#include "errlog.h"
#include "exit_file.h"
#include "shim.h"
#include "child_process.h"
#include "timefmt.h"
#include "unix_socket.h"

namespace berth::shim {

namespace {

// The runtime sends the pty master while `create` runs, long before this expires.
constexpr int kConsoleTimeoutMs = 10000;

Result<pid_t> read_pid_file(const std::string& path) {
  auto text = BERTH_TRY(fs::read_file(path));
  try {
    long pid = std::stol(text);
    if (pid > 0) return static_cast<pid_t>(pid);
  } catch (const std::exception&) {
  }
  return make_error(Errc::protocol, "pid file " + path + " does not hold a pid");
}

}  // namespace

Shim::Shim(Options options) : o_(std::move(options)) {
  rt_.binary = o_.runtime;
  rt_.root = o_.runtime_root;
  rt_.log_file = state_path(kRuntimeLogFile);
  init_.tty = o_.tty;
  init_.stdin_once = o_.stdin_once;
}

Status Shim::prepare() {
  errlog::set_container(o_.id);
  // The runtime's `create` exits after forking the init; as a subreaper we inherit the init
  // (and every exec'd process) and so can wait for it and read its exit status.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) return sys_error("become a child subreaper");
  ::signal(SIGPIPE, SIG_IGN);
  // An init that ignores SIGCHLD to have children reaped for it would pass that on to us, and
  // we would never learn an exit status.
  ::signal(SIGCHLD, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return sys_error("block SIGCHLD");
  signal_fd_.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return sys_error("signalfd");
  loop_.emplace(BERTH_TRY(EventLoop::create()));

  // A record left by an earlier run of this container must not pass for this one's.
  if (::unlink(state_path(kExitFile).c_str()) < 0 && errno != ENOENT) return sys_error("remove stale " + state_path(kExitFile));
  if (o_.tty) console_listener_ = BERTH_TRY(listen_unix(state_path(kConsoleSocketFile), 4));
  if (!o_.no_log) {
    auto log = JsonFileLog::open({o_.log_path, o_.log_max_size, o_.log_max_files});
    if (!log) return tl::unexpected(log.error());
    log_.emplace(std::move(*log));
  }
  return ok();
}

Status Shim::create_container() {
  // Without a terminal the init's stdio are pipes whose other ends stay here; with one, the
  // runtime hands us the pty master and the init's stdio is the slave.
  UniqueFd child_in, child_out, child_err;
  if (!o_.tty) {
    if (o_.open_stdin) {
      auto p = BERTH_TRY(make_pipe());
      child_in = std::move(p.first);
      init_.in = std::move(p.second);
      BERTH_TRY(set_nonblocking(init_.in.get()));
    }
    auto out = BERTH_TRY(make_pipe());
    auto err = BERTH_TRY(make_pipe());
    init_.out = std::move(out.first);
    child_out = std::move(out.second);
    init_.err = std::move(err.first);
    child_err = std::move(err.second);
    BERTH_TRY(set_nonblocking(init_.out.get()));
    BERTH_TRY(set_nonblocking(init_.err.get()));
  }
  std::vector<std::string> args = {"create", "--bundle", o_.bundle, "--pid-file", state_path(kInitPidFile)};
  if (o_.tty) args.insert(args.end(), {"--console-socket", state_path(kConsoleSocketFile)});
  if (o_.no_pivot) args.push_back("--no-pivot");
  args.push_back(o_.id);
  Status st = run_runtime(rt_, args, ChildStdio{child_in.get(), child_out.get(), child_err.get()});
  // Only the init may hold the child ends, or we would never see end-of-file.
  child_in.reset();
  child_out.reset();
  child_err.reset();
  if (!st) {
    if (console_listener_) drain_connections(console_listener_.get());
    return tl::unexpected(st.error());
  }
  created_ = true;
  init_.pid = BERTH_TRY(read_pid_file(state_path(kInitPidFile)));
  if (o_.tty) {
    init_.out = BERTH_TRY(receive_console(console_listener_.get(), kConsoleTimeoutMs));
    BERTH_TRY(set_nonblocking(init_.out.get()));
    if (o_.open_stdin) {
      // A second descriptor for input, so stdin can be closed while output keeps flowing.
      init_.in.reset(::fcntl(init_.out.get(), F_DUPFD_CLOEXEC, 3));
      if (!init_.in) return sys_error("dup pty master");
    }
  }
  return ok();
}

Status Shim::start_container() {
  BERTH_TRY(run_runtime(rt_, {"start", o_.id}, ChildStdio{}));
  init_.started = true;
  init_.started_at = rfc3339_nano(wall_now());
  return ok();
}

void Shim::abandon_container() {
  if (!created_) return;
  if (auto st = run_runtime(rt_, {"delete", "--force", o_.id}, ChildStdio{}); !st)
    errlog::error("delete after a failed start: " + st.error().what());
  if (init_.pid > 0) ::waitpid(init_.pid, nullptr, 0);
  created_ = false;
}

Result<pid_t> Shim::launch() {
  auto fail = [this](Error e) -> Result<pid_t> {
    errlog::error(e.what());
    abandon_container();
    cleanup_files();
    return tl::unexpected(std::move(e));
  };
  if (auto st = prepare(); !st) return fail(st.error());
  if (auto st = create_container(); !st) return fail(st.error());
  if (!o_.no_start) {
    if (auto st = start_container(); !st) return fail(st.error());
  }
  auto listener = listen_unix(state_path(kSocketFile), 64);
  if (!listener) return fail(listener.error());
  listener_ = std::move(*listener);
  if (auto st = fs::write_file_atomic(state_path(kPidFile), std::to_string(::getpid()) + "\n"); !st) return fail(st.error());

  auto watched = [&]() -> Status {
    BERTH_TRY(loop_->add(signal_fd_.get(), EPOLLIN, [this](uint32_t) { on_sigchld(); }));
    BERTH_TRY(loop_->add(listener_.get(), EPOLLIN, [this](uint32_t) { on_accept(); }));
    return watch_proc(init_);
  }();
  if (!watched) return fail(watched.error());
  return init_.pid;
}

}  // namespace berth::shim
