// JSON helpers around nlohmann::json: parsing that returns Result, and typed field access
// whose errors name the field ("process.args[0]: expected string").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "berth/common/result.h"

namespace berth {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

Result<Json> parse_json(std::string_view text, std::string_view what = "JSON");

// Thrown inside from_json boundaries and turned into Error by parse helpers: carries the field path.
struct JsonFieldError : std::exception {
  std::string path;
  std::string problem;
  std::string message;
  JsonFieldError(std::string p, std::string why)
      : path(std::move(p)), problem(std::move(why)), message(path + ": " + problem) {}
  const char* what() const noexcept override { return message.c_str(); }
};

// Runs `fn` (which may throw JsonFieldError or nlohmann exceptions) and converts failures to
// Errc::invalid_argument naming the field.
template <class Fn>
auto json_boundary(std::string_view what, Fn&& fn) -> Result<decltype(fn())> {
  try {
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      return {};
    } else {
      return fn();
    }
  } catch (const JsonFieldError& e) {
    return make_error(Errc::invalid_argument, std::string(what) + ": " + e.message);
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::invalid_argument, std::string(what) + ": " + e.what());
  }
}

// Typed readers: `path` is the dotted location used in errors.
namespace jsonf {
const Json* find(const Json& object, std::string_view key);
std::string get_string(const Json& value, const std::string& path);
bool get_bool(const Json& value, const std::string& path);
int64_t get_int(const Json& value, const std::string& path);
uint64_t get_uint(const Json& value, const std::string& path);
const Json& get_object(const Json& value, const std::string& path);
const Json& get_array(const Json& value, const std::string& path);
std::optional<std::string> opt_string(const Json& object, std::string_view key, const std::string& path);
std::optional<bool> opt_bool(const Json& object, std::string_view key, const std::string& path);
std::optional<int64_t> opt_int(const Json& object, std::string_view key, const std::string& path);
std::optional<uint64_t> opt_uint(const Json& object, std::string_view key, const std::string& path);
std::vector<std::string> opt_string_array(const Json& object, std::string_view key, const std::string& path);
}  // namespace jsonf

}  // namespace berth
