// URL query strings and percent-decoding, with Docker's reading of boolean parameters.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::http {

// Percent-decoding; `plus_is_space` for query components. Invalid escapes are kept literally
// (as Go's lenient parsers do for paths).
std::string url_decode(std::string_view in, bool plus_is_space);
std::string url_encode(std::string_view in);

class Query {
 public:
  Query() = default;
  static Query parse(std::string_view query_string);

  bool has(std::string_view key) const;
  // First value; "" when absent.
  std::string get(std::string_view key) const;
  std::vector<std::string> get_all(std::string_view key) const;
  // Docker's BoolValue: absent, "", "0", "no", "false", "none" are false; anything else true.
  bool get_bool(std::string_view key) const;
  // dockerd's BoolValueOrDefault: `fallback` when the key is absent or empty.
  bool get_bool_or(std::string_view key, bool fallback) const;
  // Integers; an unparsable value is Errc::invalid_argument naming the parameter.
  Result<std::optional<int64_t>> get_int(std::string_view key) const;

 private:
  std::multimap<std::string, std::string, std::less<>> values_;
};

}  // namespace berth::agent::http
