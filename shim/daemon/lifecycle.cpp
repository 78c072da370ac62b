// Exits: reaping, a process's end (answer its waiters, end its attach streams), and the shim's
// own end once the init is done and every client has what it was owed.
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errlog.h"
#include "exit_file.h"
#include "shim.h"
#include "timefmt.h"

namespace berth::shim {

namespace {

// After a process exits, how long its output may stay open (held by a daemonized child)
// before the shim stops waiting for end-of-file.
constexpr int64_t kDrainMs = 2000;
// After the init is done, how long slow attachers get to take their last output.
constexpr int64_t kExitGraceMs = 5000;
// Finished execs remembered for state and wait; health checks exec every few seconds for the
// life of a container, so older ones are forgotten.
constexpr size_t kFinishedExecsKept = 64;

}  // namespace

void Shim::on_sigchld() {
  struct signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  // Signals coalesce: reap everything that has exited, ours or orphans reparented to us.
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    Proc* p = nullptr;
    if (pid == init_.pid && !init_.exited) {
      p = &init_;
    } else {
      for (auto& [id, e] : execs_) {
        if (e->pid == pid && !e->exited) p = e.get();
      }
    }
    if (!p) continue;
    p->exited = true;
    p->exit_code = exit_code_from_wait_status(status, &p->exit_signal);
    p->finished_at = rfc3339_nano(wall_now());
    check_done(*p);
  }
}

void Shim::check_done(Proc& p) {
  if (p.done || !p.exited) return;
  if (!p.out && !p.err) {
    finish(p);
  } else if (p.drain_deadline == 0) {
    p.drain_deadline = monotonic_ms() + kDrainMs;
  }
}

void Shim::finish(Proc& p) {
  p.done = true;
  p.drain_deadline = 0;
  // Whatever is still readable goes out before the stream is cut.
  for (Stream s : {Stream::out, Stream::err}) {
    UniqueFd& fd = s == Stream::err ? p.err : p.out;
    for (int i = 0; fd && i < 64; ++i) {
      char buf[16384];
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0) break;
      std::string_view data(buf, static_cast<size_t>(n));
      if (&p == &init_ && log_) (void)log_->write(s, data, wall_now());
      broadcast(p, s, data);
    }
    close_output(p, s);
  }
  p.stdin_buffer.clear();
  close_stdin(p);

  if (&p == &init_) {
    ExitRecord record;
    record.id = o_.id;
    record.pid = p.pid;
    record.exit_code = p.exit_code;
    record.signal = p.exit_signal;
    record.started_at = p.started_at;
    record.finished_at = p.finished_at;
    // Before anyone hears of the exit: whoever learns of it may read the file next.
    if (auto st = write_exit_file(state_path(kExitFile), record); !st) errlog::error(st.error().what());
    exiting_ = true;
    exit_deadline_ = monotonic_ms() + kExitGraceMs;
  } else {
    ::unlink(state_path("exec-" + p.exec_id + ".json").c_str());
    ::unlink(state_path("exec-" + p.exec_id + ".pid").c_str());
    finished_execs_.push_back(p.exec_id);
  }

  const std::string answer = encode_ok(wait_answer(p));
  for (uint64_t id : std::vector<uint64_t>(p.waiters)) {
    Conn* c = conn(id);
    if (!c || c->dead) continue;
    c->mode = Conn::Mode::requests;
    if (c->input_closed) c->close_when_flushed = true;
    send(*c, answer);
    if (!c->dead) process_lines(*c);
  }
  p.waiters.clear();
  for (uint64_t id : std::vector<uint64_t>(p.attachers)) {
    Conn* c = conn(id);
    if (!c || c->dead) continue;
    c->close_when_flushed = true;
    flush(*c);
  }
}

void Shim::run_deadlines() {
  const int64_t now = monotonic_ms();
  if (init_.drain_deadline && now >= init_.drain_deadline) finish(init_);
  for (auto& [id, e] : execs_) {
    if (e->drain_deadline && now >= e->drain_deadline) finish(*e);
  }
}

int Shim::next_timeout() const {
  int64_t next = 0;
  auto consider = [&](int64_t t) {
    if (t && (!next || t < next)) next = t;
  };
  consider(init_.drain_deadline);
  for (const auto& [id, e] : execs_) consider(e->drain_deadline);
  if (exiting_) consider(exit_deadline_);
  if (!next) return -1;
  int64_t left = next - monotonic_ms();
  return left < 0 ? 0 : static_cast<int>(left);
}

bool Shim::may_exit() const {
  if (!exiting_) return false;
  if (monotonic_ms() >= exit_deadline_) return true;
  for (const auto& [id, e] : execs_) {
    if (!e->done) return false;
  }
  for (const auto& [id, c] : conns_) {
    if (!c->dead && !c->out.empty()) return false;
  }
  return true;
}

void Shim::forget_old_execs() {
  // Runs between events: no handler holds a finished Proc (their fds are unregistered), and
  // attachers and waiters name execs by id.
  while (finished_execs_.size() > kFinishedExecsKept) {
    execs_.erase(finished_execs_.front());
    finished_execs_.erase(finished_execs_.begin());
  }
}

void Shim::cleanup_files() {
  for (auto name : {kSocketFile, kPidFile, kConsoleSocketFile, kInitPidFile}) ::unlink(state_path(name).c_str());
  for (const auto& [id, e] : execs_) {
    ::unlink(state_path("exec-" + id + ".json").c_str());
    ::unlink(state_path("exec-" + id + ".pid").c_str());
  }
}

int Shim::serve() {
  for (;;) {
    reap_conns();
    if (may_exit()) break;
    if (auto st = loop_->run_once(next_timeout()); !st) {
      errlog::error(st.error().what());
      return 1;
    }
    run_deadlines();
    forget_old_execs();
  }
  // Remove the socket before going: a restarted agent that finds exit.json and no shim.sock
  // knows the shim is gone.
  loop_.reset();
  listener_.reset();
  conns_.clear();
  cleanup_files();
  return 0;
}

}  // namespace berth::shim
