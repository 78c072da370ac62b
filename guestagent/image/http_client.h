// Minimal HTTP/1.1 client for registry traffic, berth's own over OpenSSL (libcurl pulled some
// 25 shared libraries into the guest image): one request at a time per thread, an idle
// connection kept per thread for the next request, bodies either streamed to a sink (2xx) or
// collected (errors), Content-Length and chunked bodies, redirects followed without leaking
// Authorization to another origin, TLS verified against the system CA bundle (SSL_CERT_FILE
// overrides it) with SNI. No proxies, no compression, no HTTP/2.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::image {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when non-empty (POST)
  int64_t range_start = -1;          // "Range: bytes=N-" when >= 0
  bool verify_tls = true;
  std::string user_agent;
  // Called once when the final 2xx response's body starts (or ends empty), before on_body;
  // the response's status and headers are filled in by then.
  std::function<Status(const struct HttpResponse& head)> on_start;
  // Receives the body of a 2xx response; other bodies are collected into HttpResponse::body.
  std::function<Status(const char* data, size_t size)> on_body;
  // Downloaded bytes of this request so far and the announced length (-1 unknown).
  std::function<void(int64_t now, int64_t total)> on_progress;
  size_t max_collected_body = 16 << 20;
  long connect_timeout_s = 30;
  // A transfer that receives (or can send) nothing for this long is abandoned.
  long stall_timeout_s = 60;
};

// HttpResponse::transport_error values. The numbers are libcurl's, so that logs and callers
// read as they did when libcurl did the transfers.
enum HttpTransportError : int {
  kHttpUnsupportedScheme = 1,
  kHttpBadUrl = 3,
  kHttpCannotResolve = 6,
  kHttpCannotConnect = 7,
  kHttpBadResponse = 8,
  kHttpTruncated = 18,       // the connection closed before the announced body was complete
  kHttpTimeout = 28,         // connect timeout or a stall longer than stall_timeout_s
  kHttpTlsHandshake = 35,
  kHttpTooManyRedirects = 47,
  kHttpSendFailed = 55,
  kHttpReceiveFailed = 56,
  kHttpTlsVerify = 60,       // the server's certificate or name did not verify
};

struct HttpResponse {
  long status = 0;
  // Lower-cased names; repeated headers keep every value in order.
  std::map<std::string, std::vector<std::string>> headers;
  std::string body;
  std::string effective_url;
  // Set when no HTTP answer arrived (connection refused, TLS failure, reset mid-body).
  int transport_error = 0;
  std::string transport_message;

  const std::string* header(const std::string& lower_name) const;
};

// Fails only when the request could not be attempted or a callback returned an error;
// transport failures are reported in the response so callers can retry or fall back.
Result<HttpResponse> http_do(const HttpRequest& request);

std::string url_escape(const std::string& s);
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace berth::agent::image
