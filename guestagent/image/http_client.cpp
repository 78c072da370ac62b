#include "http_client.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "http_transport.h"

namespace berth::agent::image {

namespace {

using detail::Connection;
using detail::Endpoint;
using detail::TransportFailure;
using detail::TransportResult;

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxHeaderBytes = 256 * 1024;
// A redirect's own body is read (so the connection can be reused) only up to this size.
constexpr size_t kMaxDiscardedBody = 1 << 20;

tl::unexpected<TransportFailure> fail(int code, std::string message) {
  return tl::unexpected(TransportFailure{code, std::move(message)});
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

struct Url {
  Endpoint ep;
  std::string target;  // path and query, never empty
  std::string host_header;

  std::string origin() const { return std::string(ep.tls ? "https://" : "http://") + host_header; }
  std::string str() const { return origin() + target; }
};

// "http(s)://host[:port][/path][?query][#fragment]"; hosts may be "[v6 literal]".
TransportResult<Url> parse_url(const std::string& text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string::npos) return fail(kHttpBadUrl, "malformed URL: " + text);
  std::string scheme = lower(text.substr(0, sep));
  if (scheme == "https") u.ep.tls = true;
  else if (scheme != "http") return fail(kHttpUnsupportedScheme, "unsupported URL scheme \"" + scheme + "\": " + text);
  size_t start = sep + 3;
  size_t end = text.find_first_of("/?#", start);
  std::string authority = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (authority.empty() || authority.find('@') != std::string::npos || authority.find_first_of(" \r\n\t") != std::string::npos)
    return fail(kHttpBadUrl, "malformed URL: " + text);
  std::string port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return fail(kHttpBadUrl, "malformed URL: " + text);
    u.ep.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return fail(kHttpBadUrl, "malformed URL: " + text);
      port = authority.substr(close + 2);
    }
  } else {
    auto colon = authority.find(':');
    u.ep.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  u.ep.port = u.ep.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return fail(kHttpBadUrl, "malformed port in URL: " + text);
    u.ep.port = static_cast<uint16_t>(value);
  }
  if (u.ep.host.empty()) return fail(kHttpBadUrl, "malformed URL: " + text);
  bool v6 = u.ep.host.find(':') != std::string::npos;
  u.host_header = v6 ? "[" + u.ep.host + "]" : u.ep.host;
  if (u.ep.port != (u.ep.tls ? 443 : 80)) u.host_header += ":" + std::to_string(u.ep.port);
  u.target = end == std::string::npos ? "/" : text.substr(end);
  if (auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  if (u.target.empty() || u.target.front() == '?') u.target.insert(0, "/");
  return u;
}

// Location may be absolute, scheme-relative, absolute-path or relative to the current path.
std::string resolve_location(const Url& base, std::string_view loc) {
  if (loc.find("://") != std::string_view::npos) return std::string(loc);
  if (loc.starts_with("//")) return std::string(base.ep.tls ? "https:" : "http:") + std::string(loc);
  if (loc.starts_with("/")) return base.origin() + std::string(loc);
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  return base.origin() + dir + std::string(loc);
}

// The calling thread's idle connection, kept for its next request to the same endpoint
// (a pull's token, manifest and blob requests mostly go to one or two hosts).
std::unique_ptr<Connection>& idle_connection() {
  thread_local std::unique_ptr<Connection> idle;
  return idle;
}

// Reads one CRLF- (or LF-) terminated line, without the terminator.
TransportResult<std::string> read_line(Connection& c, size_t limit, const char* what) {
  for (;;) {
    std::string_view buf = c.buffered();
    if (auto nl = buf.find('\n'); nl != std::string_view::npos) {
      std::string line(buf.substr(0, nl));
      c.consume(nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buf.size() > limit) return fail(kHttpBadResponse, std::string(what) + " too long");
    if (!BERTH_TRY(c.fill())) return fail(kHttpReceiveFailed, std::string("connection closed while reading ") + what);
  }
}

struct Head {
  int minor_version = 1;
  long status = 0;
  std::map<std::string, std::vector<std::string>> headers;
};

// Status line and header fields; 1xx interim responses are skipped.
TransportResult<Head> read_head(Connection& c, bool& got_bytes) {
  for (;;) {
    Head h;
    if (c.buffered().empty()) {
      if (!BERTH_TRY(c.fill())) return fail(kHttpReceiveFailed, "empty reply from server");
    }
    got_bytes = true;
    std::string status_line = BERTH_TRY(read_line(c, kMaxHeaderBytes, "status line"));
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
        !std::isdigit(static_cast<unsigned char>(status_line[9])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[10])) ||
        !std::isdigit(static_cast<unsigned char>(status_line[11])) ||
        (status_line.size() > 12 && status_line[12] != ' '))
      return fail(kHttpBadResponse, "not an HTTP/1.x response: \"" + status_line.substr(0, 80) + "\"");
    h.minor_version = status_line[7] - '0';
    h.status = std::stol(status_line.substr(9, 3));
    size_t total = status_line.size();
    std::string last_name;
    for (;;) {
      std::string line = BERTH_TRY(read_line(c, kMaxHeaderBytes, "header"));
      total += line.size();
      if (total > kMaxHeaderBytes) return fail(kHttpBadResponse, "response header larger than 256 KiB");
      if (line.empty()) break;
      if ((line.front() == ' ' || line.front() == '\t') && !last_name.empty()) {  // obsolete line folding
        h.headers[last_name].back() += " " + std::string(trim(line));
        continue;
      }
      auto colon = line.find(':');
      if (colon == std::string::npos || colon == 0) return fail(kHttpBadResponse, "malformed header line: \"" + line.substr(0, 80) + "\"");
      last_name = lower(trim(std::string_view(line).substr(0, colon)));
      h.headers[last_name].emplace_back(trim(std::string_view(line).substr(colon + 1)));
    }
    if (h.status >= 100 && h.status < 200 && h.status != 101) continue;
    return h;
  }
}

const std::string* head_header(const Head& h, const std::string& name) {
  auto it = h.headers.find(name);
  return it == h.headers.end() || it->second.empty() ? nullptr : &it->second.back();
}

enum class Framing { none, length, chunked, until_close };

// What to do with body bytes as they arrive; an error stops the transfer.
using Sink = std::function<Status(std::string_view)>;

struct BodyOutcome {
  std::optional<Error> callback_error;  // a sink refused the data
  bool complete = false;                // the framing says the body ended (connection reusable)
};

TransportResult<BodyOutcome> read_body(Connection& c, Framing framing, uint64_t length, const Sink& sink) {
  BodyOutcome out;
  auto deliver = [&](std::string_view data) -> bool {
    if (data.empty()) return true;
    if (auto st = sink(data); !st) {
      out.callback_error = st.error();
      return false;
    }
    return true;
  };
  switch (framing) {
    case Framing::none:
      out.complete = true;
      return out;
    case Framing::length: {
      uint64_t left = length;
      while (left > 0) {
        if (c.buffered().empty() && !BERTH_TRY(c.fill()))
          return fail(kHttpTruncated, "transfer closed with " + std::to_string(left) + " bytes remaining to read");
        std::string_view data = c.buffered().substr(0, static_cast<size_t>(std::min<uint64_t>(left, c.buffered().size())));
        c.consume(data.size());
        left -= data.size();
        if (!deliver(data)) return out;
      }
      out.complete = true;
      return out;
    }
    case Framing::until_close:
      for (;;) {
        if (c.buffered().empty() && !BERTH_TRY(c.fill())) return out;
        std::string_view data = c.buffered();
        c.consume(data.size());
        if (!deliver(data)) return out;
      }
    case Framing::chunked:
      for (;;) {
        std::string size_line = BERTH_TRY(read_line(c, 4096, "chunk size"));
        std::string_view hex = trim(std::string_view(size_line).substr(0, size_line.find(';')));
        uint64_t size = 0;
        auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
        if (hex.empty() || ec != std::errc() || p != hex.data() + hex.size() || size > (uint64_t(1) << 48))
          return fail(kHttpReceiveFailed, "malformed chunk size \"" + size_line.substr(0, 40) + "\"");
        if (size == 0) {
          for (;;) {  // trailer fields, ignored, up to the empty line
            std::string trailer = BERTH_TRY(read_line(c, kMaxHeaderBytes, "chunk trailer"));
            if (trailer.empty()) break;
          }
          out.complete = true;
          return out;
        }
        uint64_t left = size;
        while (left > 0) {
          if (c.buffered().empty() && !BERTH_TRY(c.fill()))
            return fail(kHttpTruncated, "transfer closed in the middle of a chunk");
          std::string_view data = c.buffered().substr(0, static_cast<size_t>(std::min<uint64_t>(left, c.buffered().size())));
          c.consume(data.size());
          left -= data.size();
          if (!deliver(data)) return out;
        }
        std::string end = BERTH_TRY(read_line(c, 16, "chunk end"));
        if (!end.empty()) return fail(kHttpReceiveFailed, "chunk not followed by CRLF");
      }
  }
  return out;
}

std::string build_request(const HttpRequest& req, const std::string& method, const Url& url, bool send_body,
                          bool send_auth) {
  std::string out = method + " " + url.target + " HTTP/1.1\r\nHost: " + url.host_header + "\r\n";
  if (!req.user_agent.empty()) out += "User-Agent: " + req.user_agent + "\r\n";
  bool has_accept = false;
  for (const auto& h : req.headers) {
    std::string_view name = std::string_view(h).substr(0, h.find(':'));
    if (iequals(trim(name), "accept")) has_accept = true;
  }
  if (!has_accept) out += "Accept: */*\r\n";
  if (req.range_start >= 0) out += "Range: bytes=" + std::to_string(req.range_start) + "-\r\n";
  for (const auto& h : req.headers) {
    if (h.find_first_of("\r\n") != std::string::npos) continue;  // never let a value inject lines
    std::string_view name = trim(std::string_view(h).substr(0, h.find(':')));
    if (!send_auth && (iequals(name, "authorization") || iequals(name, "cookie"))) continue;
    out += h + "\r\n";
  }
  if (send_body) out += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  out += "\r\n";
  if (send_body) out += req.body;
  return out;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

const std::string* HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end() || it->second.empty()) return nullptr;
  return &it->second.back();
}

Result<HttpResponse> http_do(const HttpRequest& req) {
  HttpResponse resp;
  auto transport_failure = [&](const TransportFailure& f) -> Result<HttpResponse> {
    resp.transport_error = f.code;
    resp.transport_message = f.message;
    return resp;
  };

  auto first = parse_url(req.url);
  if (!first) {
    resp.effective_url = req.url;
    return transport_failure(first.error());
  }
  const std::string origin = first->origin();
  Url url = *first;
  std::string method = req.method;
  bool send_body = method == "POST" || method == "PUT" || method == "PATCH" || !req.body.empty();
  auto connect_timeout = std::chrono::seconds(std::max(1L, req.connect_timeout_s));
  auto stall_timeout = std::chrono::seconds(std::max(1L, req.stall_timeout_s));

  for (int redirects = 0;; ++redirects) {
    resp.effective_url = url.str();
    resp.headers.clear();
    resp.status = 0;
    url.ep.verify_tls = req.verify_tls;
    const std::string request_text = build_request(req, method, url, send_body, url.origin() == origin);

    // An idle connection the server closed meanwhile is only noticed on use: when it fails
    // before any byte of the answer arrived, the request goes again on a new connection.
    std::unique_ptr<Connection> conn;
    Head head;
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto& idle = idle_connection();
      if (attempt == 0 && idle && idle->key() == url.ep.key() && idle->idle_usable()) {
        conn = std::move(idle);
        reused = true;
      } else {
        idle.reset();
        auto opened = Connection::open(url.ep, connect_timeout);
        if (!opened) return transport_failure(opened.error());
        conn = std::move(*opened);
      }
      conn->set_stall_timeout(stall_timeout);
      bool got_bytes = false;
      TransportResult<Head> h = tl::unexpected(TransportFailure{});
      if (auto sent = conn->send_all(request_text); !sent) h = tl::unexpected(sent.error());
      else h = read_head(*conn, got_bytes);
      if (h) {
        head = std::move(*h);
        break;
      }
      if (reused && !got_bytes && h.error().code != kHttpTimeout) continue;
      return transport_failure(h.error());
    }

    resp.status = head.status;
    resp.headers = head.headers;
    bool keep_alive = head.minor_version >= 1;
    if (const std::string* c = head_header(head, "connection"); c && lower(*c).find("close") != std::string::npos)
      keep_alive = false;

    Framing framing = Framing::until_close;
    uint64_t length = 0;
    if (method == "HEAD" || head.status == 204 || head.status == 304) {
      framing = Framing::none;
    } else if (const std::string* te = head_header(head, "transfer-encoding")) {
      std::string codings = lower(*te);
      auto last = codings.rfind(',');
      if (trim(last == std::string::npos ? std::string_view(codings) : std::string_view(codings).substr(last + 1)) != "chunked")
        return transport_failure({kHttpBadResponse, "unsupported Transfer-Encoding: " + *te});
      framing = Framing::chunked;
    } else if (const std::string* cl = head_header(head, "content-length")) {
      auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), length);
      if (cl->empty() || ec != std::errc() || p != cl->data() + cl->size())
        return transport_failure({kHttpBadResponse, "malformed Content-Length: " + *cl});
      framing = Framing::length;
    }
    if (framing == Framing::until_close) keep_alive = false;

    const std::string* location = head_header(head, "location");
    if (is_redirect(head.status) && location) {
      if (redirects >= kMaxRedirects)
        return transport_failure({kHttpTooManyRedirects, "maximum (" + std::to_string(kMaxRedirects) + ") redirects followed"});
      std::string next = resolve_location(url, *location);
      // The redirect's own body is dropped; small ones are read so the connection is reusable.
      bool drain = framing == Framing::none || framing == Framing::chunked ||
                   (framing == Framing::length && length <= kMaxDiscardedBody);
      if (keep_alive && drain) {
        size_t seen = 0;
        auto body = read_body(*conn, framing, length, [&](std::string_view d) -> Status {
          seen += d.size();
          if (seen > kMaxDiscardedBody) return make_error(Errc::protocol, "redirect body too large");
          return ok();
        });
        if (body && body->complete && !body->callback_error) idle_connection() = std::move(conn);
      }
      auto parsed = parse_url(next);
      if (!parsed) {
        resp.effective_url = next;
        return transport_failure(parsed.error());
      }
      url = std::move(*parsed);
      // As browsers and libcurl do: 303 becomes GET, and so do 301/302 after a POST.
      if ((head.status == 303 && method != "HEAD") || ((head.status == 301 || head.status == 302) && method == "POST")) {
        method = "GET";
        send_body = false;
      }
      continue;
    }

    bool streaming = resp.status >= 200 && resp.status < 300 && req.on_body;
    bool started = false;
    uint64_t received = 0;
    int64_t total = framing == Framing::length ? static_cast<int64_t>(length) : -1;
    std::optional<Error> collect_error;
    auto body = read_body(*conn, framing, length, [&](std::string_view data) -> Status {
      if (!started) {
        started = true;
        if (streaming && req.on_start) BERTH_TRY(req.on_start(resp));
      }
      received += data.size();
      if (streaming) {
        BERTH_TRY(req.on_body(data.data(), data.size()));
        if (req.on_progress) req.on_progress(static_cast<int64_t>(received), total);
        return ok();
      }
      if (resp.body.size() + data.size() > req.max_collected_body)
        return make_error(Errc::protocol, "response from " + req.url + " is larger than " +
                                              std::to_string(req.max_collected_body) + " bytes");
      resp.body.append(data);
      return ok();
    });
    if (!body) return transport_failure(body.error());
    if (body->callback_error) return tl::unexpected(*body->callback_error);
    if (keep_alive && body->complete) idle_connection() = std::move(conn);
    // A body-less response still tells the sink the transfer started (e.g. an empty blob).
    if (!started && streaming && req.on_start && method != "HEAD") BERTH_TRY(req.on_start(resp));
    return resp;
  }
}

std::string url_escape(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], kAlphabet[v & 63]};
    i += 3;
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  // Accepts the standard and URL-safe alphabets, padded or not: X-Registry-Auth uses the latter.
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+' || ch == '-') return 62;
    if (ch == '/' || ch == '_') return 63;
    return -1;
  };
  while (!text.empty() && (text.back() == '=' || text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = value(ch);
    if (v < 0) return make_error(Errc::invalid_argument, "invalid base64 data");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits >= 6) return make_error(Errc::invalid_argument, "invalid base64 length");
  return out;
}

}  // namespace berth::agent::image
