#include "berth/common/json.h"

namespace berth {

Result<Json> parse_json(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(Errc::invalid_argument, std::string(what) + ": malformed JSON: " + e.what());
  }
}

namespace jsonf {

static const char* type_name(const Json& v) { return v.type_name(); }

const Json* find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string get_string(const Json& value, const std::string& path) {
  if (!value.is_string()) throw JsonFieldError(path, std::string("expected string, got ") + type_name(value));
  return value.get<std::string>();
}

bool get_bool(const Json& value, const std::string& path) {
  if (!value.is_boolean()) throw JsonFieldError(path, std::string("expected boolean, got ") + type_name(value));
  return value.get<bool>();
}

int64_t get_int(const Json& value, const std::string& path) {
  if (!value.is_number_integer()) throw JsonFieldError(path, std::string("expected integer, got ") + type_name(value));
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw JsonFieldError(path, "integer out of range");
  return value.get<int64_t>();
}

uint64_t get_uint(const Json& value, const std::string& path) {
  if (!value.is_number_integer()) throw JsonFieldError(path, std::string("expected integer, got ") + type_name(value));
  if (!value.is_number_unsigned() && value.get<int64_t>() < 0) throw JsonFieldError(path, "must not be negative");
  return value.get<uint64_t>();
}

const Json& get_object(const Json& value, const std::string& path) {
  if (!value.is_object()) throw JsonFieldError(path, std::string("expected object, got ") + type_name(value));
  return value;
}

const Json& get_array(const Json& value, const std::string& path) {
  if (!value.is_array()) throw JsonFieldError(path, std::string("expected array, got ") + type_name(value));
  return value;
}

std::optional<std::string> opt_string(const Json& object, std::string_view key, const std::string& path) {
  const Json* v = find(object, key);
  if (!v) return std::nullopt;
  return get_string(*v, path);
}

std::optional<bool> opt_bool(const Json& object, std::string_view key, const std::string& path) {
  const Json* v = find(object, key);
  if (!v) return std::nullopt;
  return get_bool(*v, path);
}

std::optional<int64_t> opt_int(const Json& object, std::string_view key, const std::string& path) {
  const Json* v = find(object, key);
  if (!v) return std::nullopt;
  return get_int(*v, path);
}

std::optional<uint64_t> opt_uint(const Json& object, std::string_view key, const std::string& path) {
  const Json* v = find(object, key);
  if (!v) return std::nullopt;
  return get_uint(*v, path);
}

std::vector<std::string> opt_string_array(const Json& object, std::string_view key, const std::string& path) {
  std::vector<std::string> out;
  const Json* v = find(object, key);
  if (!v) return out;
  const Json& arr = get_array(*v, path);
  out.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) out.push_back(get_string(arr[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace jsonf
}  // namespace berth
