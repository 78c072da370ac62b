// Writing an answer on a worker thread: whole bodies (JSON, text, empty), chunked streams
// (logs, events, pull progress, wait), or a hijacked raw stream (attach, exec), as dockerd
// offers them. Every response carries Docker's API headers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"

namespace berth::agent::http {

class Connection;
class Request;

// The raw connection after a hijack. The server closes it when the handler returns; a
// handler signals end of output earlier with shutdown(fd, SHUT_WR).
struct Hijacked {
  int fd = -1;
  std::string read_ahead;  // client bytes that arrived with the request: the first input
};

class Response {
 public:
  Response(Connection* conn, const Request& request);

  void add_header(std::string name, std::string value) { extra_.emplace_back(std::move(name), std::move(value)); }

  Status send(int status, std::string_view content_type, std::string_view body);
  // JSON plus a newline, as Go's json.Encoder writes it.
  Status json(int status, const Json& body);
  Status empty(int status);
  // {"message": …}
  Status error(int status, std::string_view message);
  Status error(const Error& e);

  // Chunked transfer: begin, any number of writes (each sent at once), end.
  Status begin_stream(int status, std::string_view content_type);
  Status write(std::string_view data);
  Status end_stream();

  // 101 UPGRADED when the client asked for `Upgrade: tcp`, else 200 (the older hijack docker
  // still speaks); then the socket is the handler's.
  Result<Hijacked> hijack(std::string_view content_type);

  bool started() const { return started_; }
  bool streaming() const { return streaming_ && !ended_; }
  bool hijacked() const { return hijacked_; }
  // The connection must close after this response (client asked, or a stream broke off).
  bool must_close() const { return close_; }
  void force_close() { close_ = true; }
  // The client hung up (for long waits that write nothing for a while).
  bool client_gone() const;
  int fd() const;

 private:
  std::string head(int status, std::string_view content_type, std::string_view framing) const;
  Status put(std::string_view data);

  Connection* conn_;
  bool head_only_;
  bool upgrade_;
  bool close_;
  bool started_ = false, streaming_ = false, ended_ = false, hijacked_ = false;
  std::vector<std::pair<std::string, std::string>> extra_;
};

// Headers dockerd puts on every response.
std::string standard_headers();

}  // namespace berth::agent::http
