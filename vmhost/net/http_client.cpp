#include "net/http_client.h"

#include <sys/socket.h>

#include <cctype>
#include <charconv>
#include <optional>

namespace berth::net {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// nullopt: need more data.
std::optional<Result<std::string>> decode_chunked(std::string_view data) {
  std::string out;
  for (;;) {
    size_t eol = data.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::string_view size_text = data.substr(0, eol);
    if (size_t semi = size_text.find(';'); semi != std::string_view::npos) size_text = size_text.substr(0, semi);
    size_text = trim(size_text);
    size_t size = 0;
    auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
    if (ec != std::errc() || end != size_text.data() + size_text.size()) {
      return Result<std::string>(make_error(Errc::protocol, "HTTP: bad chunk size"));
    }
    data.remove_prefix(eol + 2);
    if (size == 0) return Result<std::string>(out);  // trailers are ignored
    if (data.size() < size + 2) return std::nullopt;
    out.append(data.substr(0, size));
    data.remove_prefix(size + 2);
  }
}

}  // namespace

Result<HttpResponse> parse_http_response(std::string_view data, bool complete) {
  size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) {
    return make_error(complete ? Errc::protocol : Errc::timeout, "HTTP: incomplete response header");
  }
  std::string_view head = data.substr(0, head_end);
  std::string_view rest = data.substr(head_end + 4);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  HttpResponse r;
  if (status_line.substr(0, 5) != "HTTP/" || status_line.size() < 12) {
    return make_error(Errc::protocol, "HTTP: bad status line \"" + std::string(status_line) + "\"");
  }
  auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, r.status);
  if (ec != std::errc() || end != status_line.data() + 12) {
    return make_error(Errc::protocol, "HTTP: bad status line \"" + std::string(status_line) + "\"");
  }
  std::string_view headers = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  while (!headers.empty()) {
    size_t e = headers.find("\r\n");
    std::string_view line = headers.substr(0, e);
    headers = e == std::string_view::npos ? std::string_view() : headers.substr(e + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    r.headers[lower(trim(line.substr(0, colon)))] = std::string(trim(line.substr(colon + 1)));
  }
  auto te = r.headers.find("transfer-encoding");
  auto cl = r.headers.find("content-length");
  bool no_body = r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (no_body) return r;
  if (te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    auto body = decode_chunked(rest);
    if (!body) return make_error(complete ? Errc::protocol : Errc::timeout, "HTTP: incomplete chunked body");
    r.body = BERTH_TRY(std::move(*body));
    return r;
  }
  if (cl != r.headers.end()) {
    size_t length = 0;
    auto [e2, ec2] = std::from_chars(cl->second.data(), cl->second.data() + cl->second.size(), length);
    if (ec2 != std::errc() || e2 != cl->second.data() + cl->second.size()) {
      return make_error(Errc::protocol, "HTTP: bad Content-Length");
    }
    if (rest.size() < length) return make_error(complete ? Errc::protocol : Errc::timeout, "HTTP: incomplete body");
    r.body = std::string(rest.substr(0, length));
    return r;
  }
  if (!complete) return make_error(Errc::timeout, "HTTP: body runs to the end of the connection");
  r.body = std::string(rest);
  return r;
}

Result<HttpResponse> http_request(int fd, std::string_view method, std::string_view path, std::string_view body,
                                  Clock::time_point deadline) {
  std::string request = std::string(method) + " " + std::string(path) +
                        " HTTP/1.1\r\nHost: berth\r\nUser-Agent: berth\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;
  std::string what = "HTTP " + std::string(method) + " " + std::string(path);
  BERTH_TRY(send_all(fd, request, what));
  std::string data;
  for (;;) {
    std::string chunk = BERTH_TRY(read_some(fd, 65536, deadline, what));
    bool eof = chunk.empty();
    data += chunk;
    auto parsed = parse_http_response(data, eof);
    if (parsed) return parsed;
    if (eof || parsed.error().code != Errc::timeout) return tl::unexpected(parsed.error().context(what));
    if (data.size() > (16u << 20)) return make_error(Errc::protocol, what + ": response larger than 16 MiB");
  }
}

}  // namespace berth::net
