// Clients of shim.sock: request lines in, answer lines out; attached clients stream output
// out and stdin in. A client that goes away is only marked dead here and destroyed between
// events, so no handler is left holding a dangling Conn.
#include <sys/socket.h>
#include <unistd.h>

#include "errlog.h"
#include "shim.h"
#include "unix_socket.h"

namespace berth::shim {

namespace {

// An attacher that lets this much output pile up is dropped rather than stalling the container.
constexpr size_t kMaxClientBacklog = 4 << 20;
constexpr size_t kKeptBufferCapacity = 64 << 10;

}  // namespace

Conn* Shim::conn(uint64_t id) {
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Shim::on_accept() {
  for (;;) {
    auto fd = accept_unix(listener_.get());
    if (!fd) {
      errlog::warn(fd.error().what());
      return;
    }
    if (!*fd) return;
    auto c = std::make_unique<Conn>();
    c->id = next_conn_id_++;
    c->fd = std::move(*fd);
    uint64_t id = c->id;
    auto token = loop_->add(c->fd.get(), EPOLLIN, [this, id](uint32_t events) { on_conn_event(id, events); });
    if (!token) {
      errlog::warn(token.error().what());
      continue;
    }
    c->token = *token;
    conns_.emplace(id, std::move(c));
  }
}

void Shim::on_conn_event(uint64_t id, uint32_t events) {
  Conn* c = conn(id);
  if (!c || c->dead) return;
  if (events & EPOLLERR) {
    kill_conn(*c);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP)) && !c->input_closed && !c->input_paused) {
    char buf[16384];
    ssize_t n = ::read(c->fd.get(), buf, sizeof buf);
    if (n > 0) {
      on_conn_data(*c, std::string_view(buf, static_cast<size_t>(n)));
    } else if (n == 0) {
      on_conn_eof(*c);
    } else if (errno != EAGAIN && errno != EINTR) {
      kill_conn(*c);
    }
    if (c->dead) return;
  }
  if (events & EPOLLOUT) flush(*c);
  if (c->dead) return;
  // Hang-up: the client closed both directions, so nothing we send can arrive any more.
  if ((events & EPOLLHUP) && (c->input_closed || c->input_paused)) kill_conn(*c);
}

void Shim::on_conn_data(Conn& c, std::string_view data) {
  if (c.mode == Conn::Mode::attached) {
    if (!c.attach.attach_stdin) return;
    auto p = find_proc(c.exec_id);
    if (p) feed_stdin(**p, data);
    return;
  }
  c.in.append(data);
  process_lines(c);
}

void Shim::process_lines(Conn& c) {
  while (!c.dead && c.mode == Conn::Mode::requests) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) {
      if (c.in.size() > kMaxRequestLine) {
        c.in.clear();
        c.input_closed = true;
        c.close_when_flushed = true;
        send(c, encode_error(Error{Errc::invalid_argument, 0, "request: longer than 1 MiB"}));
      }
      return;
    }
    std::string line = c.in.substr(0, nl);
    c.in.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    handle_request(c, line);
  }
  // Bytes that followed an attach request are the attacher's first input.
  if (!c.dead && c.mode == Conn::Mode::attached && !c.in.empty()) {
    std::string rest = std::move(c.in);
    c.in.clear();
    on_conn_data(c, rest);
  }
}

void Shim::on_conn_eof(Conn& c) {
  c.input_closed = true;
  if (c.mode == Conn::Mode::attached) {
    release_stdin(c);
  } else if (c.mode == Conn::Mode::requests) {
    if (!c.in.empty()) {  // a last request without its newline
      c.in.push_back('\n');
      process_lines(c);
      if (c.dead) return;
    }
    if (c.mode == Conn::Mode::requests) {
      c.close_when_flushed = true;
      flush(c);
      return;
    }
  }
  update_events(c);
}

void Shim::send(Conn& c, std::string_view data) {
  if (c.dead) return;
  c.out.append(data);
  flush(c);
}

void Shim::flush(Conn& c) {
  if (c.dead) return;
  size_t done = 0;
  while (done < c.out.size()) {
    ssize_t n = ::send(c.fd.get(), c.out.data() + done, c.out.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      kill_conn(c);  // EPIPE / ECONNRESET: the client is gone
      return;
    }
  }
  c.out.erase(0, done);
  // A burst must not leave its buffer behind: the shim's RSS is the budget.
  if (c.out.empty() && c.out.capacity() > kKeptBufferCapacity) std::string().swap(c.out);
  if (c.out.empty() && c.close_when_flushed) {
    kill_conn(c);
    return;
  }
  if (c.out.size() > kMaxClientBacklog) {
    errlog::warn("dropping a client that does not read its output (" + std::to_string(c.out.size()) + " bytes queued)");
    kill_conn(c);
    return;
  }
  update_events(c);
}

void Shim::update_events(Conn& c) {
  if (c.dead) return;
  uint32_t events = 0;
  if (!c.input_closed && !c.input_paused) events |= EPOLLIN;
  if (!c.out.empty()) events |= EPOLLOUT;
  (void)loop_->modify(c.token, events);
}

void Shim::release_stdin(Conn& c) {
  if (c.mode != Conn::Mode::attached || !c.attach.attach_stdin) return;
  auto p = find_proc(c.exec_id);
  if (!p) return;
  Proc& proc = **p;
  // StdinOnce: the first stdin attacher to leave (EOF or disconnect) closes the stdin.
  if (proc.stdin_once && !proc.stdin_released) {
    proc.stdin_released = true;
    close_stdin(proc);
  }
}

void Shim::kill_conn(Conn& c) {
  if (c.dead) return;
  release_stdin(c);
  c.dead = true;
  loop_->remove(c.token);
  c.fd.reset();
  if (c.mode != Conn::Mode::requests) {
    if (auto p = find_proc(c.exec_id)) {
      std::erase((*p)->attachers, c.id);
      std::erase((*p)->waiters, c.id);
    }
  }
  dead_conns_.push_back(c.id);
}

void Shim::reap_conns() {
  for (uint64_t id : dead_conns_) conns_.erase(id);
  dead_conns_.clear();
}

}  // namespace berth::shim
