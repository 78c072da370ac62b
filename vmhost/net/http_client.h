// A minimal HTTP/1.1 client for one request per connection: the agent's control API
// (/berth/v1/...) and the Docker API's /_ping. Not a general client: no redirects, no
// keep-alive, bodies held in memory.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "net/socket_io.h"

namespace berth::net {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// Sends the request ("Connection: close") on a connected stream and reads the response.
Result<HttpResponse> http_request(int fd, std::string_view method, std::string_view path, std::string_view body,
                                  Clock::time_point deadline);

// Parses a complete response (status line, headers, body by Content-Length, chunked, or to
// the end of the data). Exposed for tests.
Result<HttpResponse> parse_http_response(std::string_view data, bool complete);

}  // namespace berth::net
