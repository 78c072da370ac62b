#include "bridge/socket_bridge.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "berth/common/json.h"
#include "bridge/pipe.h"
#include "net/socket_io.h"

namespace berth::bridge {

Result<std::unique_ptr<SocketBridge>> SocketBridge::start(BridgeOptions options,
                                                          std::shared_ptr<VsockConnector> connector,
                                                          std::shared_ptr<spdlog::logger> log) {
  UniqueFd listener = BERTH_TRY(net::listen_unix(options.path, options.mode));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("pipe");
  FdPair wake{UniqueFd(fds[0]), UniqueFd(fds[1])};
  std::unique_ptr<SocketBridge> b(
      new SocketBridge(std::move(options), std::move(connector), std::move(log), std::move(listener), std::move(wake)));
  b->acceptor_ = std::thread([raw = b.get()] { raw->accept_loop(); });
  return b;
}

SocketBridge::SocketBridge(BridgeOptions options, std::shared_ptr<VsockConnector> connector,
                           std::shared_ptr<spdlog::logger> log, UniqueFd listener, FdPair wake)
    : options_(std::move(options)),
      connector_(std::move(connector)),
      log_(std::move(log)),
      listener_(std::move(listener)),
      wake_(std::move(wake)) {}

SocketBridge::~SocketBridge() { stop(); }

void SocketBridge::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  char c = 1;
  (void)!::write(wake_.second.get(), &c, 1);
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& conn : conns_) {
      // Only sockets still open: a thread that finished has already closed nothing (the
      // fds live until reap), so shutting them down is always safe.
      abort_streams(conn->client.get(), conn->guest.get());
    }
  }
  reap(/*all=*/true);
  ::unlink(options_.path.c_str());
  listener_.reset();
}

size_t SocketBridge::active_connections() {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (auto& c : conns_) n += c->done ? 0 : 1;
  return n;
}

void SocketBridge::reap(bool all) {
  std::list<std::unique_ptr<Conn>> finished;
  {
    std::lock_guard lock(mu_);
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (all || (*it)->done) {
        finished.push_back(std::move(*it));
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished) {
    if (c->thread.joinable()) c->thread.join();
  }
}

void SocketBridge::accept_loop() {
  while (!stopping_) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {wake_.first.get(), POLLIN, 0}};
    int n = ::poll(p, 2, 1000);
    reap(/*all=*/false);
    if (n < 0 && errno != EINTR) {
      log_->error("[{}] bridge {}: poll: {}", options_.instance, options_.path, std::strerror(errno));
      return;
    }
    if (n <= 0 || p[1].revents || !(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
        log_->warn("[{}] bridge {}: accept: {}", options_.instance, options_.path, std::strerror(errno));
        // EMFILE and friends: do not spin.
        ::usleep(100000);
      }
      continue;
    }
    auto conn = std::make_unique<Conn>();
    conn->client = UniqueFd(fd);
    Conn* raw = conn.get();
    std::lock_guard lock(mu_);
    conns_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] {
      serve(*raw);
      raw->done = true;
    });
  }
}

void SocketBridge::serve(Conn& conn) {
  auto guest = connector_->connect(options_.guest_port, options_.connect_timeout);
  if (!guest) {
    log_->warn("[{}] bridge: cannot reach guest port {}: {}", options_.instance, options_.guest_port,
               guest.error().what());
    // Docker clients show an error response's "message"; a bare close would read as EOF.
    std::string body = Json{{"message", "berth: the VM's Docker API is not reachable (" + guest.error().what() +
                                            "); see `berth status` and `berth logs`"}}
                           .dump();
    std::string response = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)net::send_all(conn.client.get(), response, "bridge error reply");
    return;
  }
  {
    std::lock_guard lock(mu_);
    conn.guest = std::move(*guest);
    // stop() may have run between connect and here: do not start a pipe it cannot end.
    if (stopping_) return;
  }
  log_->debug("[{}] bridge: connection to guest port {} open", options_.instance, options_.guest_port);
  auto stats = pipe_streams(conn.client.get(), conn.guest.get());
  log_->debug("[{}] bridge: connection closed ({} bytes to guest, {} from guest)", options_.instance, stats.a_to_b,
              stats.b_to_a);
}

}  // namespace berth::bridge
