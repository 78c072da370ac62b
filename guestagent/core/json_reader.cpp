#include "json_reader.h"

#include <strings.h>

namespace berth::agent {

namespace {
const Json& null_json() {
  static const Json n = nullptr;
  return n;
}
}  // namespace

std::string_view json_type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_float: return "number";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "integer";
    default: return "value";
  }
}

ObjectReader::ObjectReader(const Json& value, std::string path) : value_(&value), path_(std::move(path)) {
  if (!value.is_null() && !value.is_object())
    throw JsonFieldError(path_.empty() ? "body" : path_, "expected object, got " + std::string(json_type_name(value)));
}

std::string ObjectReader::child_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const Json* ObjectReader::get(std::string_view key) const {
  if (!value_->is_object()) return nullptr;
  auto it = value_->find(key);
  if (it == value_->end()) {
    for (auto i = value_->begin(); i != value_->end(); ++i) {
      if (i.key().size() == key.size() && ::strncasecmp(i.key().data(), key.data(), key.size()) == 0) {
        it = i;
        break;
      }
    }
  }
  if (it == value_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string ObjectReader::str(std::string_view key, std::string fallback) const {
  const Json* v = get(key);
  if (!v) return fallback;
  if (!v->is_string()) throw JsonFieldError(child_path(key), "expected string, got " + std::string(json_type_name(*v)));
  return v->get<std::string>();
}

bool ObjectReader::boolean(std::string_view key, bool fallback) const {
  return opt_bool(key).value_or(fallback);
}

std::optional<bool> ObjectReader::opt_bool(std::string_view key) const {
  const Json* v = get(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw JsonFieldError(child_path(key), "expected boolean, got " + std::string(json_type_name(*v)));
  return v->get<bool>();
}

int64_t ObjectReader::int64(std::string_view key, int64_t fallback) const { return opt_int64(key).value_or(fallback); }

std::optional<int64_t> ObjectReader::opt_int64(std::string_view key) const {
  const Json* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) throw JsonFieldError(child_path(key), "integer out of range");
    return static_cast<int64_t>(v->get<uint64_t>());
  }
  if (!v->is_number_integer()) throw JsonFieldError(child_path(key), "expected integer, got " + std::string(json_type_name(*v)));
  return v->get<int64_t>();
}

std::vector<std::string> ObjectReader::strings(std::string_view key) const {
  std::vector<std::string> out;
  const Json* v = get(key);
  if (!v) return out;
  if (!v->is_array()) throw JsonFieldError(child_path(key), "expected array of strings, got " + std::string(json_type_name(*v)));
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string())
      throw JsonFieldError(child_path(key) + "[" + std::to_string(i) + "]", "expected string, got " + std::string(json_type_name(e)));
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<std::vector<std::string>> ObjectReader::strslice(std::string_view key) const {
  const Json* v = get(key);
  if (!v) return std::nullopt;
  if (v->is_string()) return std::vector<std::string>{v->get<std::string>()};
  if (!v->is_array())
    throw JsonFieldError(child_path(key), "expected string or array of strings, got " + std::string(json_type_name(*v)));
  return strings(key);
}

std::map<std::string, std::string> ObjectReader::string_map(std::string_view key) const {
  std::map<std::string, std::string> out;
  const Json* v = get(key);
  if (!v) return out;
  if (!v->is_object()) throw JsonFieldError(child_path(key), "expected object, got " + std::string(json_type_name(*v)));
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it->is_null()) {
      out[it.key()] = "";
      continue;
    }
    if (!it->is_string())
      throw JsonFieldError(child_path(key) + "." + it.key(), "expected string, got " + std::string(json_type_name(*it)));
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

std::vector<std::string> ObjectReader::keys(std::string_view key) const {
  std::vector<std::string> out;
  const Json* v = get(key);
  if (!v) return out;
  if (!v->is_object()) throw JsonFieldError(child_path(key), "expected object, got " + std::string(json_type_name(*v)));
  for (auto it = v->begin(); it != v->end(); ++it) out.push_back(it.key());
  return out;
}

ObjectReader ObjectReader::object(std::string_view key) const {
  const Json* v = get(key);
  return ObjectReader(v ? *v : null_json(), child_path(key));
}

std::vector<ObjectReader> ObjectReader::objects(std::string_view key) const {
  std::vector<ObjectReader> out;
  const Json* v = get(key);
  if (!v) return out;
  if (!v->is_array()) throw JsonFieldError(child_path(key), "expected array, got " + std::string(json_type_name(*v)));
  for (size_t i = 0; i < v->size(); ++i) out.emplace_back((*v)[i], child_path(key) + "[" + std::to_string(i) + "]");
  return out;
}

}  // namespace berth::agent
