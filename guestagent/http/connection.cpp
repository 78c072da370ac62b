#include "connection.h"

#include <limits>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "io.h"

namespace berth::agent::http {

namespace bhttp = boost::beast::http;

namespace {
constexpr size_t kMaxHeader = 64 * 1024;
constexpr size_t kReadChunk = 16 * 1024;
constexpr int kBodyTimeoutMs = 120000;
}  // namespace

struct Connection::ParserBox {
  bhttp::request_parser<bhttp::buffer_body> parser;
};

Connection::Connection(int fd) : fd_(fd) {}
Connection::~Connection() = default;

Result<bool> Connection::fill(int timeout_ms) {
  char buf[kReadChunk];
  size_t n = BERTH_TRY(read_some(fd_, buf, sizeof buf, timeout_ms));
  if (n == 0) return false;
  in_.append(buf, n);
  return true;
}

Result<std::optional<RequestHead>> Connection::read_head(int timeout_ms) {
  parser_ = std::make_unique<ParserBox>();
  auto& p = parser_->parser;
  p.header_limit(kMaxHeader);
  // Handlers bound what they buffer; loads and archives stream.
  p.body_limit(std::numeric_limits<std::uint64_t>::max());
  p.eager(false);
  for (;;) {
    if (!in_.empty()) {
      boost::system::error_code ec;
      size_t used = p.put(boost::asio::buffer(in_.data(), in_.size()), ec);
      in_.erase(0, used);
      if (!ec && p.is_header_done()) break;
      if (ec && ec != bhttp::error::need_more)
        return make_error(ec == bhttp::error::header_limit ? Errc::invalid_argument : Errc::invalid_argument,
                          "malformed HTTP request: " + ec.message());
      if (in_.size() > kMaxHeader) return make_error(Errc::invalid_argument, "request header too large");
    }
    bool was_empty = in_.empty();
    auto more = fill(timeout_ms);
    if (!more) {
      if (more.error().code == Errc::timeout && was_empty) return std::optional<RequestHead>{};
      return tl::unexpected(more.error());
    }
    if (!*more) {
      if (was_empty) return std::optional<RequestHead>{};
      return make_error(Errc::invalid_argument, "connection closed in the middle of a request");
    }
  }
  const auto& msg = p.get();
  RequestHead head;
  head.method = std::string(msg.method_string());
  head.target = std::string(msg.target());
  for (const auto& f : msg) head.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  head.keep_alive = msg.keep_alive();
  head.has_body = !p.is_done();
  return std::optional<RequestHead>(std::move(head));
}

Result<size_t> Connection::read_body_some(char* buf, size_t size) {
  if (!parser_ || size == 0) return size_t{0};
  auto& p = parser_->parser;
  for (;;) {
    if (p.is_done()) return size_t{0};
    auto& body = p.get().body();
    body.data = buf;
    body.size = size;
    if (!in_.empty()) {
      boost::system::error_code ec;
      size_t used = p.put(boost::asio::buffer(in_.data(), in_.size()), ec);
      in_.erase(0, used);
      if (ec == bhttp::error::need_buffer) ec = {};
      size_t produced = size - body.size;
      body.data = nullptr;
      if (ec && ec != bhttp::error::need_more) return make_error(Errc::invalid_argument, "malformed request body: " + ec.message());
      if (produced > 0) return produced;
      if (p.is_done()) return size_t{0};
      if (!ec && used > 0) continue;  // chunk framing consumed; parse on
    }
    auto more = BERTH_TRY(fill(kBodyTimeoutMs));
    if (!more) return make_error(Errc::invalid_argument, "request body ended early (connection closed)");
  }
}

bool Connection::body_done() const { return !parser_ || parser_->parser.is_done(); }

Status Connection::drain_body(size_t limit) {
  char buf[kReadChunk];
  size_t total = 0;
  while (!body_done()) {
    size_t n = BERTH_TRY(read_body_some(buf, sizeof buf));
    if (n == 0 && !body_done()) return make_error(Errc::io, "request body stalled");
    total += n;
    if (total > limit) return make_error(Errc::invalid_argument, "unread request body too large");
  }
  return ok();
}

}  // namespace berth::agent::http
