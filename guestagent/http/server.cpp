#include "server.h"

#include <strings.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "berth/common/log.h"
#include "connection.h"
#include "io.h"
#include "request.h"
#include "response.h"

namespace berth::agent::http {

namespace asio = boost::asio;
using Proto = asio::generic::stream_protocol;

namespace {
// A client that starts a request must finish its header within this.
constexpr int kHeaderTimeoutMs = 30000;
// What a handler may leave unread of a body before the connection is closed instead.
constexpr size_t kMaxDrain = 1 << 20;
constexpr int kLingerMs = 2000;
}  // namespace

struct Server::Acceptor {
  asio::basic_socket_acceptor<Proto> acceptor;
  std::string description;
  Acceptor(asio::io_context& io, int family, int fd, std::string desc)
      : acceptor(io, Proto(family, SOCK_STREAM), fd), description(std::move(desc)) {}
};

struct Server::Conn : std::enable_shared_from_this<Server::Conn> {
  Server& server;
  Proto::socket socket;
  Connection conn;

  Conn(Server& s, Proto::socket sock) : server(s), socket(std::move(sock)), conn(socket.native_handle()) {
    ++server.open_;
  }
  ~Conn() {
    boost::system::error_code ec;
    socket.close(ec);
    --server.open_;
  }

  // Waits (in the io_context, no thread) for the next request on an idle connection.
  void arm() {
    auto self = shared_from_this();
    socket.async_wait(Proto::socket::wait_read, [self](const boost::system::error_code& ec) {
      if (ec) return;
      self->server.dispatch(self);
    });
  }

  // Returns true when the connection stays open for another request.
  bool serve_one() {
    auto head = conn.read_head(kHeaderTimeoutMs);
    if (!head) {
      if (head.error().code == Errc::invalid_argument) {
        Request dummy;
        dummy.keep_alive = false;
        Response res(&conn, dummy);
        (void)res.error(400, head.error().message);
      }
      return false;
    }
    if (!*head) return false;
    Request req;
    req.method = std::move((*head)->method);
    req.target = std::move((*head)->target);
    req.headers = std::move((*head)->headers);
    req.keep_alive = (*head)->keep_alive;
    req.has_body = (*head)->has_body;
    req.attach(&conn);
    // curl asks before sending large bodies; answering at once costs nothing.
    if (req.has_body && strcasecmp(req.header("Expect").c_str(), "100-continue") == 0 &&
        !write_all(conn.fd(), "HTTP/1.1 100 Continue\r\n\r\n"))
      return false;
    Response res(&conn, req);
    server.router().dispatch(req, res);
    if (res.hijacked()) {
      linger_before_close(conn.fd(), kLingerMs);
      return false;
    }
    if (res.streaming() || res.must_close()) return false;
    if (!conn.body_done() && !conn.drain_body(kMaxDrain)) return false;
    return req.keep_alive;
  }

  void serve() {
    for (;;) {
      if (!serve_one()) return;  // the last reference goes: the socket closes
      if (!conn.has_read_ahead()) {
        // Back to the io_context until the client sends the next request.
        asio::post(server.io(), [self = shared_from_this()] { self->arm(); });
        return;
      }
    }
  }
};

Server::Server(const Router& router, WorkerPool& pool) : router_(router), pool_(pool) {}

Server::~Server() {
  stop();
  // Connections being served hold sockets of io_; let them finish (bounded: a hijacked
  // stream may last) before io_ goes away.
  for (int i = 0; i < 500 && in_workers_.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void Server::dispatch(std::shared_ptr<Conn> conn) {
  ++in_workers_;
  pool_.post([this, conn = std::move(conn)]() mutable {
    conn->serve();
    conn.reset();  // the socket closes here, not after the count says we are done
    --in_workers_;
  });
}

Status Server::listen(Listener listener) {
  BERTH_TRY(set_nonblocking(listener.fd.get()));
  auto acc = std::make_shared<Acceptor>(io_, listener.family, listener.fd.release(), listener.description);
  acceptors_.push_back(acc);
  log::get("agent")->info("listening on {}", acc->description);
  accept_next(acc);
  return ok();
}

void Server::accept_next(const std::shared_ptr<Acceptor>& acc) {
  acc->acceptor.async_accept([this, acc](const boost::system::error_code& ec, Proto::socket sock) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      log::get("agent")->warn("accept on {}: {}", acc->description, ec.message());
      // EMFILE and friends: back off briefly rather than spin.
      auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(100));
      timer->async_wait([this, acc, timer](const boost::system::error_code&) { accept_next(acc); });
      return;
    }
    // Asio accepts without SOCK_CLOEXEC; child processes (shims) must never inherit clients.
    (void)set_cloexec(sock.native_handle());
    (void)set_nonblocking(sock.native_handle());
    dispatch(std::make_shared<Conn>(*this, std::move(sock)));
    accept_next(acc);
  });
}

void Server::run() {
  auto guard = asio::make_work_guard(io_);
  io_.run();
}

void Server::stop() {
  asio::post(io_, [this] {
    for (auto& a : acceptors_) {
      boost::system::error_code ec;
      a->acceptor.close(ec);
    }
  });
  io_.stop();
}

}  // namespace berth::agent::http
