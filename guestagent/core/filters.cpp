#include "filters.h"

#include "berth/common/json.h"

namespace berth::agent {

Result<Filters> Filters::parse(std::string_view text) {
  Filters f;
  if (text.empty()) return f;
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    return make_error(Errc::invalid_argument, std::string("invalid filter: ") + e.what());
  }
  if (j.is_null()) return f;
  if (!j.is_object()) return make_error(Errc::invalid_argument, "invalid filter: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto& set = f.values_[it.key()];
    if (it->is_object()) {
      for (auto v = it->begin(); v != it->end(); ++v) {
        if (!v->is_boolean()) return make_error(Errc::invalid_argument, "invalid filter '" + it.key() + "': expected booleans");
        if (v->get<bool>()) set.insert(v.key());
      }
    } else if (it->is_array()) {
      for (const auto& v : *it) {
        if (!v.is_string()) return make_error(Errc::invalid_argument, "invalid filter '" + it.key() + "': expected strings");
        set.insert(v.get<std::string>());
      }
    } else {
      return make_error(Errc::invalid_argument, "invalid filter '" + it.key() + "'");
    }
  }
  return f;
}

std::vector<std::string> Filters::get(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

Status Filters::validate(const std::set<std::string>& allowed) const {
  for (const auto& [k, v] : values_) {
    (void)v;
    if (!allowed.count(k)) return make_error(Errc::invalid_argument, "invalid filter '" + k + "'");
  }
  return ok();
}

bool Filters::match_exact(const std::string& key, const std::string& value) const {
  auto it = values_.find(key);
  if (it == values_.end()) return true;
  return it->second.count(value) != 0;
}

bool Filters::match_prefix(const std::string& key, const std::string& value) const {
  auto it = values_.find(key);
  if (it == values_.end()) return true;
  for (const auto& v : it->second)
    if (value.compare(0, v.size(), v) == 0) return true;
  return false;
}

bool Filters::match_labels(const std::string& key, const std::map<std::string, std::string>& labels) const {
  auto it = values_.find(key);
  if (it == values_.end()) return true;
  for (const auto& want : it->second) {
    auto eq = want.find('=');
    std::string k = want.substr(0, eq);
    auto l = labels.find(k);
    if (l == labels.end()) return false;
    if (eq != std::string::npos && l->second != want.substr(eq + 1)) return false;
  }
  return true;
}

Result<std::optional<bool>> Filters::get_bool(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return std::optional<bool>{};
  bool any_true = false, any_false = false;
  for (const auto& v : it->second) {
    if (v == "true" || v == "1") {
      any_true = true;
    } else if (v == "false" || v == "0") {
      any_false = true;
    } else {
      return make_error(Errc::invalid_argument, "invalid filter '" + key + "=" + v + "'");
    }
  }
  if (any_true && any_false) return std::optional<bool>{};
  return std::optional<bool>(any_true);
}

}  // namespace berth::agent
