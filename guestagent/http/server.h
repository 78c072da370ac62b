// The HTTP/1.1 server: an Asio io_context accepts connections and waits for idle keep-alive
// connections to become readable; a worker thread then parses the request, runs the route
// and writes the answer (handlers block, see worker_pool.h). No thread sits on an idle
// connection.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "berth/common/result.h"
#include "listener.h"
#include "router.h"
#include "worker_pool.h"

namespace berth::agent::http {

class Server {
 public:
  Server(const Router& router, WorkerPool& pool);
  ~Server();

  // Starts accepting on `listener` (effective once run() is running).
  Status listen(Listener listener);
  // Runs the io_context on the calling thread until stop().
  void run();
  void stop();

  boost::asio::io_context& io() { return io_; }
  WorkerPool& pool() { return pool_; }
  const Router& router() const { return router_; }
  size_t open_connections() const { return open_.load(); }

  // Serves one connection's requests on the current thread until it is idle, hijacked or
  // closed. Public for the connection objects in server.cpp.
  struct Conn;

 private:
  struct Acceptor;
  void accept_next(const std::shared_ptr<Acceptor>& acceptor);
  // Serves `conn` on a worker thread.
  void dispatch(std::shared_ptr<Conn> conn);

  const Router& router_;
  WorkerPool& pool_;
  boost::asio::io_context io_;
  std::vector<std::shared_ptr<Acceptor>> acceptors_;
  std::atomic<size_t> open_{0};
  std::atomic<size_t> in_workers_{0};
  friend struct Conn;
};

}  // namespace berth::agent::http
