#include "ids.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace berth::agent {

namespace {

void random_bytes(unsigned char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
}

bool name_char(char c, bool first) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

// Words for generated names. Not Docker's lists: colours and qualities, and rivers.
constexpr std::array kLeft = {"amber",  "bold",   "brave",  "bright", "calm",   "clever", "cosmic", "crisp",
                              "daring", "eager",  "fancy",  "gentle", "golden", "happy",  "humble", "jolly",
                              "keen",   "kind",   "lively", "lucid",  "mellow", "merry",  "nimble", "noble",
                              "patient", "plucky", "quiet",  "rapid",  "serene", "sharp",  "silent", "steady",
                              "sunny",  "swift",  "tender", "tidy",   "upbeat", "vivid",  "witty",  "zealous"};
constexpr std::array kRight = {"amazon", "arno",    "danube", "douro",   "ebro",    "elbe",   "ganges", "indus",
                               "jordan", "kama",    "lena",   "loire",   "mekong",  "meuse",  "niger",  "nile",
                               "oder",   "orinoco", "po",     "rhine",   "rhone",   "seine",  "shannon", "tagus",
                               "thames", "tiber",   "tigris", "ural",    "vistula", "volga",  "yangtze", "yukon",
                               "zambezi", "mosel",  "neckar", "main",    "inn",     "drava",  "sava",   "tisza"};

}  // namespace

std::string new_id() {
  static const char* hex = "0123456789abcdef";
  for (;;) {
    unsigned char b[32];
    random_bytes(b, sizeof b);
    std::string id;
    id.reserve(64);
    for (unsigned char c : b) {
      id.push_back(hex[c >> 4]);
      id.push_back(hex[c & 15]);
    }
    if (!std::all_of(id.begin(), id.begin() + 12, [](char c) { return c >= '0' && c <= '9'; })) return id;
  }
}

std::string short_id(std::string_view id) { return std::string(id.substr(0, 12)); }

bool valid_container_name(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0)) return false;
  return true;
}

std::string random_name(int attempt) {
  unsigned char b[2];
  random_bytes(b, sizeof b);
  std::string n = std::string(kLeft[b[0] % kLeft.size()]) + "_" + kRight[b[1] % kRight.size()];
  if (attempt > 0) n += std::to_string(attempt);
  return n;
}

std::string format_time(Clock::time_point t) {
  auto ns = to_ns(t);
  time_t secs = static_cast<time_t>(ns / 1000000000);
  long frac = static_cast<long>(ns % 1000000000);
  if (frac < 0) {
    frac += 1000000000;
    --secs;
  }
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string now_string() { return format_time(Clock::now()); }

int64_t to_ns(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

int64_t now_ns() { return to_ns(Clock::now()); }

std::optional<int64_t> parse_time_ns(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20) return std::nullopt;
  auto num = [&](size_t pos, size_t len) -> std::optional<int> {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    if (ec != std::errc() || p != s.data() + pos + len) return std::nullopt;
    return v;
  };
  auto Y = num(0, 4), M = num(5, 2), D = num(8, 2), h = num(11, 2), m = num(14, 2), sec = num(17, 2);
  if (!Y || !M || !D || !h || !m || !sec || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 9) {
        frac_ns = frac_ns * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    for (; digits < 9; ++digits) frac_ns *= 10;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-')) {
    auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (!oh || !om) return std::nullopt;
    offset = (*oh * 3600 + *om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  struct tm tm {};
  tm.tm_year = *Y - 1900;
  tm.tm_mon = *M - 1;
  tm.tm_mday = *D;
  tm.tm_hour = *h;
  tm.tm_min = *m;
  tm.tm_sec = *sec;
  int64_t secs = static_cast<int64_t>(::timegm(&tm)) - offset;
  return secs * 1000000000 + frac_ns;
}

std::optional<int64_t> parse_go_duration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return std::nullopt;
    double value = 0;
    try {
      value = std::stod(std::string(s.substr(0, i)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    double scale = unit == "ns" ? 1 : (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") ? 1e3 : unit == "ms" ? 1e6
                 : unit == "s" ? 1e9 : unit == "m" ? 60e9 : unit == "h" ? 3600e9 : 0;
    if (scale == 0) return std::nullopt;
    total += value * scale;
  }
  return static_cast<int64_t>(negative ? -total : total);
}

Result<int64_t> parse_timestamp_param(std::string_view text, std::string_view name) {
  if (auto t = parse_time_ns(text)) return *t;
  if (text != "0")
    if (auto d = parse_go_duration(text); d && text.find_first_not_of("0123456789.") != std::string_view::npos)
      return now_ns() - *d;
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  int64_t secs = 0;
  auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
  if (whole.empty() || ec != std::errc() || p != whole.data() + whole.size())
    return make_error(Errc::invalid_argument, "invalid value for " + std::string(name) + ": \"" + std::string(text) +
                                                  "\" is not a timestamp");
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = text.substr(dot + 1);
    int digits = 0;
    for (char c : f) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return make_error(Errc::invalid_argument, "invalid value for " + std::string(name) + ": \"" + std::string(text) + "\"");
      if (digits < 9) {
        frac = frac * 10 + (c - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  return secs * 1000000000 + frac;
}

std::string human_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  double secs = duration<double>(d).count();
  if (secs < 1) return "Less than a second";
  if (static_cast<int64_t>(secs) == 1) return "1 second";
  if (secs < 60) return std::to_string(static_cast<int64_t>(secs)) + " seconds";
  int64_t minutes = static_cast<int64_t>(secs / 60);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  int64_t hours = static_cast<int64_t>(secs / 3600 + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(static_cast<int64_t>(secs / 3600 / 24 / 365)) + " years";
}

}  // namespace berth::agent
