#include "init/cmdline.h"

#include <arpa/inet.h>

#include <charconv>

namespace berth::agent::init {

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::optional<in_addr> parse_ipv4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (::inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return a;
}

// Where a share must not go: over the guest's own system directories or berth's data (a
// share there would hide what the agent and the containers rely on).
bool reserved_path(std::string_view path) {
  for (std::string_view r : {"/proc", "/sys", "/dev", "/run", "/var/lib/berth", "/etc", "/usr", "/bin", "/sbin",
                             "/lib", "/lib64"}) {
    if (path == r) return true;
    if (path.size() > r.size() && path.substr(0, r.size()) == r && path[r.size()] == '/') return true;
  }
  return path == "/" || path == "/tmp" || path == "/var" || path == "/var/lib";
}

}  // namespace

std::vector<std::string> split_cmdline(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_quotes = false, have = false;
  for (char c : text) {
    if (c == '"') {
      in_quotes = !in_quotes;
      have = true;
    } else if (!in_quotes && (c == ' ' || c == '\t' || c == '\n')) {
      if (have) words.push_back(std::move(word));
      word.clear();
      have = false;
    } else {
      word += c;
      have = true;
    }
  }
  if (have) words.push_back(std::move(word));
  return words;
}

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (auto label : split(name, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok) return false;
    }
  }
  return true;
}

std::optional<StaticIp> parse_static_ip(std::string_view value, std::string& why) {
  auto fields = split(value, ',');
  StaticIp ip;
  auto slash = fields[0].find('/');
  if (slash == std::string_view::npos) {
    why = "expected ADDR/PREFIX[,GATEWAY[,DNS...]] (no /PREFIX in \"" + std::string(fields[0]) + "\")";
    return std::nullopt;
  }
  auto addr = parse_ipv4(fields[0].substr(0, slash));
  if (!addr) {
    why = "\"" + std::string(fields[0].substr(0, slash)) + "\" is not an IPv4 address";
    return std::nullopt;
  }
  ip.address = *addr;
  auto prefix_text = fields[0].substr(slash + 1);
  auto [end, ec] = std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), ip.prefix);
  if (ec != std::errc() || end != prefix_text.data() + prefix_text.size() || prefix_text.empty() || ip.prefix < 0 ||
      ip.prefix > 32) {
    why = "prefix \"" + std::string(prefix_text) + "\" is not a number from 0 to 32";
    return std::nullopt;
  }
  if (fields.size() > 1 && !fields[1].empty()) {
    ip.gateway = parse_ipv4(fields[1]);
    if (!ip.gateway) {
      why = "gateway \"" + std::string(fields[1]) + "\" is not an IPv4 address";
      return std::nullopt;
    }
  }
  for (size_t i = 2; i < fields.size(); ++i) {
    if (fields[i].empty()) continue;
    auto dns = parse_ipv4(fields[i]);
    if (!dns) {
      why = "DNS server \"" + std::string(fields[i]) + "\" is not an IPv4 address";
      return std::nullopt;
    }
    ip.dns.push_back(*dns);
  }
  return ip;
}

std::optional<ShareSpec> parse_share(std::string_view value, std::string& why) {
  ShareSpec share;
  size_t colon = value.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    why = "expected TAG:/abs/path[:ro]";
    return std::nullopt;
  }
  share.tag = std::string(value.substr(0, colon));
  std::string_view path = value.substr(colon + 1);
  // The path may itself contain colons; only a trailing ":ro"/":rw" is an option.
  if (path.size() > 3 && (path.ends_with(":ro") || path.ends_with(":rw"))) {
    share.read_only = path.ends_with(":ro");
    path.remove_suffix(3);
  }
  // virtiofs tags are at most 36 bytes (the device's config field).
  if (share.tag.size() > 36) {
    why = "tag \"" + share.tag + "\" is longer than 36 bytes";
    return std::nullopt;
  }
  if (path.empty() || path.front() != '/') {
    why = "path \"" + std::string(path) + "\" is not absolute (expected TAG:/abs/path[:ro])";
    return std::nullopt;
  }
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (auto part : split(path.substr(1), '/')) {
    if (part == "." || part == ".." || (part.empty() && path.size() > 1)) {
      why = "path \"" + std::string(path) + "\" is not in canonical form (no ., .. or //)";
      return std::nullopt;
    }
  }
  if (reserved_path(path)) {
    why = "path \"" + std::string(path) + "\" would cover a directory the guest itself needs";
    return std::nullopt;
  }
  share.path = std::string(path);
  return share;
}

std::optional<int64_t> parse_unix_time(std::string_view value, std::string& why) {
  std::string_view secs = value, frac;
  if (auto dot = value.find('.'); dot != std::string_view::npos) {
    secs = value.substr(0, dot);
    frac = value.substr(dot + 1);
  }
  int64_t s = 0;
  auto [end, ec] = std::from_chars(secs.data(), secs.data() + secs.size(), s);
  bool digits_only = frac.find_first_not_of("0123456789") == std::string_view::npos;
  // Later than 2001 and before 2286: anything else is a host bug, not a clock.
  if (secs.empty() || ec != std::errc() || end != secs.data() + secs.size() || !digits_only || s < 1000000000 ||
      s >= 10000000000) {
    why = "expected Unix seconds (e.g. 1700000000 or 1700000000.25), got \"" + std::string(value) + "\"";
    return std::nullopt;
  }
  int64_t nanos = 0, scale = 100000000;
  for (size_t i = 0; i < frac.size() && i < 9; ++i, scale /= 10) nanos += (frac[i] - '0') * scale;
  return s * 1000000000 + nanos;
}

BootParams parse_cmdline(std::string_view text) {
  BootParams p;
  for (const auto& word : split_cmdline(text)) {
    if (!word.starts_with("berth.")) continue;
    size_t eq = word.find('=');
    std::string key = word.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
    auto problem = [&](const std::string& why) { p.problems.push_back(word + ": " + why); };
    std::string why;
    if (eq == std::string::npos) {
      problem("expected " + key + "=VALUE");
    } else if (key == "berth.hostname") {
      if (valid_hostname(value)) {
        p.hostname = value;
      } else {
        problem("not a valid host name (letters, digits, '-', dot-separated labels, at most 64 bytes)");
      }
    } else if (key == "berth.ip") {
      if (value == "dhcp") {
        p.ip.reset();
      } else if (auto ip = parse_static_ip(value, why)) {
        p.ip = *ip;
      } else {
        problem(why);
      }
    } else if (key == "berth.mount") {
      if (auto share = parse_share(value, why)) {
        bool duplicate = false;
        for (const auto& s : p.shares) duplicate = duplicate || s.path == share->path || s.tag == share->tag;
        if (duplicate) {
          problem("another berth.mount already uses this tag or path");
        } else {
          p.shares.push_back(std::move(*share));
        }
      } else {
        problem(why);
      }
    } else if (key == "berth.time") {
      if (auto t = parse_unix_time(value, why)) {
        p.time_unix_nanos = t;
      } else {
        problem(why);
      }
    } else if (key == "berth.debug") {
      if (value == "1" || value == "0") {
        p.debug = value == "1";
      } else {
        problem("expected 0 or 1");
      }
    } else {
      problem("unknown parameter " + key);
    }
  }
  return p;
}

}  // namespace berth::agent::init
