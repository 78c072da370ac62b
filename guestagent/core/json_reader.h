// Reads Docker API request objects the way dockerd's Go decoder does: unknown members are
// ignored, null means "not set", member names match case-insensitively when there is no exact
// match, and a member of the wrong type is an error naming it with its dotted path
// ("HostConfig.Memory: expected integer, got string"), thrown as JsonFieldError inside a
// json_boundary.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"

namespace berth::agent {

class ObjectReader {
 public:
  // `value` must be an object or null (null reads as empty).
  ObjectReader(const Json& value, std::string path);

  // The member, or nullptr when absent or null.
  const Json* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  std::string child_path(std::string_view key) const;

  std::string str(std::string_view key, std::string fallback = "") const;
  bool boolean(std::string_view key, bool fallback = false) const;
  int64_t int64(std::string_view key, int64_t fallback = 0) const;
  std::optional<int64_t> opt_int64(std::string_view key) const;
  std::optional<bool> opt_bool(std::string_view key) const;
  // An array of strings.
  std::vector<std::string> strings(std::string_view key) const;
  // Docker's StrSlice: a string or an array of strings; nullopt when absent or null.
  std::optional<std::vector<std::string>> strslice(std::string_view key) const;
  // {"k":"v"}; non-string values are errors.
  std::map<std::string, std::string> string_map(std::string_view key) const;
  // The keys of a set-like object: {"80/tcp":{}} → ["80/tcp"].
  std::vector<std::string> keys(std::string_view key) const;
  // A nested object (empty when absent or null).
  ObjectReader object(std::string_view key) const;
  // Elements of an array (empty when absent or null); each must be an object.
  std::vector<ObjectReader> objects(std::string_view key) const;

  const Json& json() const { return *value_; }
  const std::string& path() const { return path_; }

 private:
  const Json* value_;
  std::string path_;
};

std::string_view json_type_name(const Json& v);

}  // namespace berth::agent

namespace berth::agent {

// Runs `fn`, turning JsonFieldError into Errc::invalid_argument whose message is
// "<field path>: <problem>" (the path already says where).
template <class Fn>
auto read_boundary(Fn&& fn) -> Result<decltype(fn())> {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const JsonFieldError& e) {
    return make_error(Errc::invalid_argument, e.message);
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::invalid_argument, e.what());
  }
}

}  // namespace berth::agent
