// Docker's `filters` query parameter: a JSON object from filter name to accepted values,
// either {"label":{"a=b":true}} (the CLI's form) or {"label":["a=b"]} (older clients).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent {

class Filters {
 public:
  Filters() = default;
  // Empty text is no filter. Errc::invalid_argument for anything not of the two forms.
  static Result<Filters> parse(std::string_view text);

  bool empty() const { return values_.empty(); }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::vector<std::string> get(const std::string& key) const;
  // Errc::invalid_argument "invalid filter 'x'" for a key outside `allowed`.
  Status validate(const std::set<std::string>& allowed) const;

  // True when `key` is absent or one of its values equals `value`.
  bool match_exact(const std::string& key, const std::string& value) const;
  // True when `key` is absent or one of its values is a prefix of `value` (ids).
  bool match_prefix(const std::string& key, const std::string& value) const;
  // Label filters: each value "k" or "k=v" must hold (all of them, as dockerd requires).
  bool match_labels(const std::string& key, const std::map<std::string, std::string>& labels) const;
  // dockerd's "dangling"/"all" style booleans: "true"/"1" or "false"/"0"; error otherwise.
  Result<std::optional<bool>> get_bool(const std::string& key) const;

 private:
  std::map<std::string, std::set<std::string>> values_;
};

}  // namespace berth::agent
