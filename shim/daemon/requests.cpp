// The protocol's operations (shim/protocol.md), except exec (exec.cpp).
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "shim.h"

namespace berth::shim {

Result<Proc*> Shim::find_proc(const std::string& exec_id) {
  if (exec_id.empty()) return &init_;
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return make_error(Errc::not_found, "no exec \"" + exec_id + "\" in container " + o_.id);
  return it->second.get();
}

ProcessState Shim::proc_state(const Proc& p) const {
  ProcessState s;
  s.exec = p.exec_id;
  s.pid = p.pid;
  s.tty = p.tty;
  s.status = p.exited ? "stopped" : p.started ? "running" : "created";
  if (p.exited) s.exit_code = p.exit_code;
  s.started_at = p.started_at;
  s.finished_at = p.finished_at;
  return s;
}

Json Shim::wait_answer(const Proc& p) const {
  Json j = Json::object();
  j["exit_code"] = p.exit_code;
  j["signal"] = p.exit_signal;
  j["finished_at"] = p.finished_at;
  return j;
}

void Shim::handle_request(Conn& c, std::string_view line) {
  auto parsed = parse_request(line);
  if (!parsed) {
    send(c, encode_error(parsed.error()));
    return;
  }
  const Request& r = *parsed;
  Result<Json> answer = Json::object();
  switch (r.op) {
    case Op::state:
      answer = op_state(r);
      break;
    case Op::start:
      if (auto st = op_start(); !st) answer = tl::unexpected(st.error());
      break;
    case Op::attach:
      (void)op_attach(c, r);  // answers itself: the stream must follow the answer at once
      return;
    case Op::exec:
      (void)op_exec(c, r);  // likewise
      return;
    case Op::wait:
      answer = op_wait(c, r);
      if (answer && answer->is_null()) return;  // answered when the process is done
      break;
    case Op::resize:
      if (auto st = op_resize(r); !st) answer = tl::unexpected(st.error());
      break;
    case Op::signal:
      if (auto st = op_signal(r); !st) answer = tl::unexpected(st.error());
      break;
    case Op::close_stdin:
      if (auto st = op_close_stdin(r); !st) answer = tl::unexpected(st.error());
      break;
  }
  send(c, answer ? encode_ok(*answer) : encode_error(answer.error()));
}

Result<Json> Shim::op_state(const Request& r) {
  if (!r.exec.empty()) {
    Proc* p = BERTH_TRY(find_proc(r.exec));
    return to_json(proc_state(*p));
  }
  Json j = to_json(proc_state(init_));
  j["id"] = o_.id;
  j["shim_pid"] = ::getpid();
  Json execs = Json::array();
  for (const auto& [id, e] : execs_) execs.push_back(to_json(proc_state(*e)));
  j["execs"] = std::move(execs);
  return j;
}

Status Shim::op_start() {
  if (init_.exited) return make_error(Errc::conflict, "container " + o_.id + " has already exited");
  if (init_.started) return make_error(Errc::conflict, "container " + o_.id + " is already started");
  return start_container();
}

Result<Json> Shim::op_attach(Conn& c, const Request& r) {
  auto found = find_proc(r.exec);
  if (!found) {
    send(c, encode_error(found.error()));
    return tl::unexpected(found.error());
  }
  Proc& p = **found;
  bool multiplexed = r.attach.format == StreamFormat::multiplexed || (r.attach.format == StreamFormat::automatic && !p.tty);
  Json answer = Json::object();
  answer["tty"] = p.tty;
  answer["stream"] = multiplexed ? "multiplexed" : "raw";
  send(c, encode_ok(answer));
  if (c.dead) return answer;
  c.mode = Conn::Mode::attached;
  c.exec_id = r.exec;
  c.attach = r.attach;
  c.multiplexed = multiplexed;
  if (p.done) {
    // Nothing more will come: end the stream.
    c.close_when_flushed = true;
    flush(c);
  } else {
    p.attachers.push_back(c.id);
  }
  return answer;
}

Result<Json> Shim::op_wait(Conn& c, const Request& r) {
  Proc* p = BERTH_TRY(find_proc(r.exec));
  if (p->done) return wait_answer(*p);
  c.mode = Conn::Mode::waiting;
  c.exec_id = r.exec;
  p->waiters.push_back(c.id);
  return Json();  // null: the answer comes later
}

Status Shim::op_resize(const Request& r) {
  Proc* p = BERTH_TRY(find_proc(r.exec));
  if (!p->tty) return make_error(Errc::invalid_argument, "resize: the process has no terminal");
  int fd = p->out ? p->out.get() : p->in.get();
  if (p->done || fd < 0) return make_error(Errc::conflict, "resize: the process has exited");
  struct winsize ws {};
  ws.ws_row = r.height;
  ws.ws_col = r.width;
  if (::ioctl(fd, TIOCSWINSZ, &ws) < 0) return sys_error("resize terminal");
  return ok();
}

Status Shim::op_signal(const Request& r) {
  Proc* p = BERTH_TRY(find_proc(r.exec));
  if (r.all) {
    if (!r.exec.empty()) return make_error(Errc::invalid_argument, "signal: \"all\" applies to the container, not an exec");
    return run_runtime(rt_, {"kill", "--all", o_.id, std::to_string(r.signal)}, ChildStdio{});
  }
  if (p->exited) return make_error(Errc::conflict, "signal: the process has exited");
  // Safe against pid reuse: the process is our child and is not reaped until we reap it.
  if (::kill(p->pid, r.signal) < 0) return sys_error("signal pid " + std::to_string(p->pid));
  return ok();
}

Status Shim::op_close_stdin(const Request& r) {
  Proc* p = BERTH_TRY(find_proc(r.exec));
  close_stdin(*p);
  return ok();
}

}  // namespace berth::shim
