#include "query.h"

#include <cctype>
#include <charconv>

namespace berth::agent::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string url_encode(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

Query Query::parse(std::string_view qs) {
  Query q;
  while (!qs.empty()) {
    auto amp = qs.find('&');
    std::string_view part = qs.substr(0, amp);
    qs = amp == std::string_view::npos ? std::string_view{} : qs.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    std::string key = url_decode(part.substr(0, eq), true);
    std::string value = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1), true);
    q.values_.emplace(std::move(key), std::move(value));
  }
  return q;
}

bool Query::has(std::string_view key) const { return values_.find(key) != values_.end(); }

std::string Query::get(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string() : it->second;
}

std::vector<std::string> Query::get_all(std::string_view key) const {
  std::vector<std::string> out;
  auto [b, e] = values_.equal_range(key);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

bool Query::get_bool(std::string_view key) const {
  std::string v = get(key);
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

bool Query::get_bool_or(std::string_view key, bool fallback) const {
  if (get(key).empty()) return fallback;
  return get_bool(key);
}

Result<std::optional<int64_t>> Query::get_int(std::string_view key) const {
  std::string v = get(key);
  if (v.empty()) return std::optional<int64_t>{};
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size())
    return make_error(Errc::invalid_argument, "invalid value for " + std::string(key) + ": \"" + v + "\" is not an integer");
  return std::optional<int64_t>(out);
}

}  // namespace berth::agent::http
