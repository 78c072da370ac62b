// The processes' stdio: output goes to the log (the init's) and to every attacher; attacher
// input goes to the process's stdin, buffered while the process is not reading.
#include <unistd.h>

#include "errlog.h"
#include "shim.h"
#include "timefmt.h"

namespace berth::shim {

namespace {

// Input queued for a process beyond this stops reading from its attachers until it drains.
constexpr size_t kStdinHighWater = 1 << 20;

}  // namespace

Status Shim::watch_proc(Proc& p) {
  Proc* proc = &p;  // Procs live as long as the shim (execs_ never erases)
  if (p.out) p.out_token = BERTH_TRY(loop_->add(p.out.get(), EPOLLIN, [this, proc](uint32_t) { on_output(*proc, Stream::out); }));
  if (p.err) p.err_token = BERTH_TRY(loop_->add(p.err.get(), EPOLLIN, [this, proc](uint32_t) { on_output(*proc, Stream::err); }));
  if (p.in) {
    // No events until there is input to write; errors (the reader is gone) arrive regardless.
    p.in_token = BERTH_TRY(loop_->add(p.in.get(), 0, [this, proc](uint32_t events) {
      if (events & (EPOLLERR | EPOLLHUP)) {
        proc->stdin_buffer.clear();
        close_stdin(*proc);
      } else if (events & EPOLLOUT) {
        write_stdin(*proc);
      }
    }));
  }
  return ok();
}

void Shim::on_output(Proc& p, Stream stream) {
  UniqueFd& fd = stream == Stream::err ? p.err : p.out;
  char buf[16384];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n > 0) {
    std::string_view data(buf, static_cast<size_t>(n));
    if (&p == &init_ && log_) {
      if (auto st = log_->write(stream, data, wall_now()); !st && !log_failed_) {
        log_failed_ = true;
        errlog::error("container log: " + st.error().what());
      }
    }
    broadcast(p, stream, data);
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // End of file; EIO from a pty master means its last slave closed.
  close_output(p, stream);
  check_done(p);
}

void Shim::close_output(Proc& p, Stream stream) {
  UniqueFd& fd = stream == Stream::err ? p.err : p.out;
  uint64_t& token = stream == Stream::err ? p.err_token : p.out_token;
  if (!fd) return;
  loop_->remove(token);
  token = 0;
  fd.reset();
  if (&p == &init_ && log_) {
    if (auto st = log_->finish(stream, wall_now()); !st && !log_failed_) {
      log_failed_ = true;
      errlog::error("container log: " + st.error().what());
    }
  }
}

void Shim::broadcast(Proc& p, Stream stream, std::string_view data) {
  const std::vector<uint64_t> ids = p.attachers;  // sending may drop a slow client
  for (uint64_t id : ids) {
    Conn* c = conn(id);
    if (!c || c->dead) continue;
    if (stream == Stream::out ? !c->attach.attach_stdout : !c->attach.attach_stderr) continue;
    if (c->multiplexed) {
      append_frame(c->out, stream, data);
      flush(*c);
    } else {
      send(*c, data);
    }
  }
}

void Shim::feed_stdin(Proc& p, std::string_view data) {
  if (!p.in || p.stdin_closing) return;  // no stdin (not OpenStdin, or closed): dropped as Docker does
  p.stdin_buffer.append(data);
  write_stdin(p);
}

void Shim::write_stdin(Proc& p) {
  while (!p.stdin_buffer.empty() && p.in) {
    ssize_t n = ::write(p.in.get(), p.stdin_buffer.data(), p.stdin_buffer.size());
    if (n > 0) {
      p.stdin_buffer.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      // EPIPE: the process closed its stdin; nothing more will be read.
      p.stdin_buffer.clear();
      close_stdin(p);
      return;
    }
  }
  if (!p.in) return;
  if (p.stdin_buffer.empty()) {
    if (p.stdin_buffer.capacity() > (64 << 10)) std::string().swap(p.stdin_buffer);  // RSS
    (void)loop_->modify(p.in_token, 0);
    set_stdin_paused(p, false);
    if (p.stdin_closing) close_stdin(p);
  } else {
    (void)loop_->modify(p.in_token, EPOLLOUT);
    if (p.stdin_buffer.size() >= kStdinHighWater) set_stdin_paused(p, true);
  }
}

void Shim::close_stdin(Proc& p) {
  if (!p.in) return;
  if (!p.stdin_buffer.empty()) {
    // What attachers already sent is delivered first; the process sees EOF after it.
    p.stdin_closing = true;
    return;
  }
  // With a pty `in` is a second descriptor of the master: output keeps flowing, input stops.
  loop_->remove(p.in_token);
  p.in_token = 0;
  p.in.reset();
  p.stdin_closing = false;
  set_stdin_paused(p, false);
}

void Shim::set_stdin_paused(Proc& p, bool paused) {
  for (uint64_t id : p.attachers) {
    Conn* c = conn(id);
    if (!c || c->dead || !c->attach.attach_stdin || c->input_paused == paused) continue;
    c->input_paused = paused;
    update_events(*c);
  }
}

}  // namespace berth::shim
