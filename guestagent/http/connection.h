// One client connection as the worker threads see it: the socket, the bytes read ahead of
// the parser, and Beast's parser for the request in progress. Requests on a keep-alive
// connection are parsed one after another; after a hijack the read-ahead bytes belong to the
// handler (they are the first bytes of the raw stream).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::http {

struct RequestHead {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  bool keep_alive = true;
  bool has_body = false;
};

class Connection {
 public:
  // `fd` stays owned by the caller (the server's socket object).
  explicit Connection(int fd);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  // Parses the next request header. nullopt when the client closed the connection before
  // sending anything. Errc::invalid_argument for malformed requests (answered with 400).
  Result<std::optional<RequestHead>> read_head(int timeout_ms);
  // The body of the current request, decoded (chunked or Content-Length); 0 at its end.
  Result<size_t> read_body_some(char* buf, size_t size);
  bool body_done() const;
  // Reads and discards what the handler left of the body, up to `limit` bytes.
  Status drain_body(size_t limit);
  // Bytes received after the current request (a hijacked stream's first input).
  std::string take_read_ahead() { return std::exchange(in_, {}); }
  bool has_read_ahead() const { return !in_.empty(); }

 private:
  Result<bool> fill(int timeout_ms);  // false at end of file

  struct ParserBox;
  int fd_;
  std::string in_;
  std::unique_ptr<ParserBox> parser_;
};

}  // namespace berth::agent::http
