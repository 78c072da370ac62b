#include "instance/name.h"

#include <string>

namespace berth::instance {

namespace {
bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

Status validate_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "invalid instance name \"" + std::string(name) + "\": " + why);
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > kMaxNameLength) return bad("longer than " + std::to_string(kMaxNameLength) + " characters");
  if (name.find('/') != std::string_view::npos) return bad("it contains '/'");
  if (name.find("..") != std::string_view::npos) return bad("it contains '..'");
  if (!alnum(name.front())) return bad("it must start with a letter or digit");
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
  }
  return ok();
}

}  // namespace berth::instance
