#include "request.h"

#include <strings.h>

#include "connection.h"

namespace berth::agent::http {

std::string Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

std::string Request::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace {
bool contains_token(std::string value, std::string_view token) {
  for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    std::string part = value.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b != std::string::npos && part.substr(b, e - b + 1) == token) return true;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return false;
}
}  // namespace

bool Request::wants_upgrade() const {
  return contains_token(header("Connection"), "upgrade") && contains_token(header("Upgrade"), "tcp");
}

Result<std::string> Request::read_body(size_t limit) {
  std::string out;
  if (!conn_) return out;
  char buf[16384];
  for (;;) {
    size_t n = BERTH_TRY(conn_->read_body_some(buf, sizeof buf));
    if (n == 0) break;
    if (out.size() + n > limit)
      return make_error(Errc::invalid_argument, "request body is larger than " + std::to_string(limit) + " bytes");
    out.append(buf, n);
  }
  return out;
}

Result<size_t> Request::read_body_some(char* buf, size_t size) {
  if (!conn_) return size_t{0};
  return conn_->read_body_some(buf, size);
}

Result<Json> Request::read_json() {
  std::string body = BERTH_TRY(read_body());
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return Json(nullptr);
  try {
    return Json::parse(body);
  } catch (const Json::exception& e) {
    return make_error(Errc::invalid_argument, std::string("invalid JSON in request body: ") + e.what());
  }
}

}  // namespace berth::agent::http
