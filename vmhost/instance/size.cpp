#include "instance/size.h"

#include <cctype>
#include <limits>

namespace berth::instance {

namespace {

struct Unit {
  const char* name;
  int shift;
};
constexpr Unit kUnits[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, std::string(what) + ": cannot parse size \"" + std::string(text) +
                                                  "\" (" + why + "; use e.g. 2G, 512MiB, 20GiB)");
  };
  size_t i = 0;
  uint64_t whole = 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (whole > (std::numeric_limits<uint64_t>::max() - d) / 10) return bad("too large");
    whole = whole * 10 + d;
    ++i;
    ++digits;
  }
  // A fraction keeps up to 9 digits, as nanos-of-a-unit, which is exact for every unit.
  uint64_t frac = 0;
  uint64_t frac_scale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac_digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (frac_digits < 9) {
        frac = frac * 10 + static_cast<uint64_t>(text[i] - '0');
        frac_scale *= 10;
      }
      ++frac_digits;
      ++i;
    }
    if (frac_digits == 0) return bad("a digit must follow '.'");
  }
  if (digits == 0) return bad("it must start with a number");
  std::string suffix = lower(text.substr(i));
  int shift = 0;
  if (suffix.empty() || suffix == "b") {
    shift = 0;
  } else {
    static constexpr struct {
      char letter;
      int shift;
    } kLetters[] = {{'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}};
    bool found = false;
    for (const auto& l : kLetters) {
      if (suffix[0] == l.letter && (suffix.size() == 1 || suffix.substr(1) == "b" || suffix.substr(1) == "ib")) {
        shift = l.shift;
        found = true;
      }
    }
    if (!found) return bad("unknown unit \"" + std::string(text.substr(i)) + "\"");
  }
  if (shift < 64 && whole > (std::numeric_limits<uint64_t>::max() >> shift)) return bad("too large");
  uint64_t bytes = whole << shift;
  if (frac != 0) {
    if (shift == 0) return bad("a fraction of a byte");
    // frac/frac_scale of one unit, rounded down to a byte.
    unsigned __int128 part = (static_cast<unsigned __int128>(frac) << shift) / frac_scale;
    if (bytes > std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(part)) return bad("too large");
    bytes += static_cast<uint64_t>(part);
  }
  return bytes;
}

std::string format_size(uint64_t bytes) {
  for (const auto& u : kUnits) {
    uint64_t unit = uint64_t{1} << u.shift;
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + u.name;
  }
  return std::to_string(bytes) + "B";
}

}  // namespace berth::instance
