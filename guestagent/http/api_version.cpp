#include "api_version.h"

#include <charconv>

namespace berth::agent::http {

namespace {

std::optional<int> parse_number(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ApiVersion> parse_api_version(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto major = parse_number(text.substr(0, dot));
  auto minor = parse_number(text.substr(dot + 1));
  if (!major || !minor) return std::nullopt;
  return ApiVersion{*major, *minor};
}

Result<VersionedPath> split_versioned_path(std::string_view path) {
  VersionedPath out;
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v') {
    auto end = path.find('/', 1);
    std::string_view segment = path.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2);
    if (auto v = parse_api_version(segment)) {
      if (*v < kMinApiVersion)
        return make_error(Errc::invalid_argument, "client version " + std::string(segment) +
                                                      " is too old. Minimum supported API version is " +
                                                      kMinApiVersion.str() +
                                                      ", please upgrade your client to a newer version");
      if (*v > kMaxApiVersion)
        return make_error(Errc::invalid_argument, "client version " + std::string(segment) +
                                                      " is too new. Maximum supported API version is " +
                                                      kMaxApiVersion.str());
      out.version = *v;
      out.path = end == std::string_view::npos ? "/" : std::string(path.substr(end));
      return out;
    }
  }
  out.path = std::string(path);
  return out;
}

}  // namespace berth::agent::http
