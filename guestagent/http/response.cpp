#include "response.h"

#include <sys/socket.h>

#include "berth/common/version.h"
#include "api_version.h"
#include "connection.h"
#include "io.h"
#include "request.h"
#include "status.h"

namespace berth::agent::http {

std::string standard_headers() {
  static const std::string h = "Api-Version: " + kMaxApiVersion.str() +
                               "\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: berth-agent/" +
                               std::string(berth::kVersion) + " (linux)\r\n";
  return h;
}

Response::Response(Connection* conn, const Request& request)
    : conn_(conn),
      head_only_(request.method == "HEAD"),
      upgrade_(request.wants_upgrade()),
      close_(!request.keep_alive) {}

int Response::fd() const { return conn_ ? conn_->fd() : -1; }

std::string Response::head(int status, std::string_view content_type, std::string_view framing) const {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
  h += standard_headers();
  if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
  for (const auto& [k, v] : extra_) h += k + ": " + v + "\r\n";
  h += framing;
  if (close_) h += "Connection: close\r\n";
  h += "\r\n";
  return h;
}

Status Response::put(std::string_view data) {
  if (!conn_) return ok();
  auto st = write_all(conn_->fd(), data);
  if (!st) close_ = true;
  return st;
}

Status Response::send(int status, std::string_view content_type, std::string_view body) {
  if (started_) return make_error(Errc::internal, "response already started");
  started_ = ended_ = true;
  bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  std::string framing = no_body ? "" : "Content-Length: " + std::to_string(body.size()) + "\r\n";
  std::string out = head(status, no_body ? std::string_view{} : content_type, framing);
  if (!head_only_ && !no_body) out.append(body);
  return put(out);
}

Status Response::json(int status, const Json& body) {
  return send(status, "application/json", body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
}

Status Response::empty(int status) { return send(status, "", ""); }

Status Response::error(int status, std::string_view message) {
  return send(status, "application/json", error_body(message));
}

Status Response::error(const Error& e) { return error(status_for(e.code), e.what()); }

Status Response::begin_stream(int status, std::string_view content_type) {
  if (started_) return make_error(Errc::internal, "response already started");
  started_ = streaming_ = true;
  if (head_only_) {
    ended_ = true;
    return put(head(status, content_type, "Content-Length: 0\r\n"));
  }
  return put(head(status, content_type, "Transfer-Encoding: chunked\r\n"));
}

Status Response::write(std::string_view data) {
  if (!streaming_ || ended_) return make_error(Errc::internal, "no stream to write to");
  if (data.empty()) return ok();  // an empty chunk would end the stream
  char size[32];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, static_cast<size_t>(n));
  out.append(data);
  out.append("\r\n");
  return put(out);
}

Status Response::end_stream() {
  if (!streaming_ || ended_) return ok();
  ended_ = true;
  return put("0\r\n\r\n");
}

Result<Hijacked> Response::hijack(std::string_view content_type) {
  if (started_) return make_error(Errc::internal, "response already started");
  started_ = ended_ = hijacked_ = true;
  close_ = true;
  // What dockerd sends before the raw bytes; clients read exactly up to the blank line.
  std::string h = upgrade_ ? "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + std::string(content_type) +
                                 "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                           : "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(content_type) + "\r\n";
  h += standard_headers();
  h += "\r\n";
  BERTH_TRY(put(h));
  Hijacked out;
  if (conn_ == nullptr) return out;
  out.fd = conn_->fd();
  out.read_ahead = conn_->take_read_ahead();
  return out;
}

bool Response::client_gone() const { return conn_ && peer_closed(conn_->fd()); }

}  // namespace berth::agent::http
