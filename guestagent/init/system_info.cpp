#include "init/system_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <sstream>

#include "berth/common/fs.h"
#include "init/console.h"

namespace berth::agent::init {

namespace {

// /proc/mounts escapes space, tab, newline and backslash as \\ooo.
std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto octal = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::map<std::string, uint64_t> parse_meminfo(std::string_view text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream value(line.substr(colon + 1));
    uint64_t n = 0;
    std::string unit;
    if (!(value >> n)) continue;
    value >> unit;
    out[line.substr(0, colon)] = unit == "kB" ? n * 1024 : n;
  }
  return out;
}

Json memory_json(const std::map<std::string, uint64_t>& m) {
  auto get = [&](const char* k) -> uint64_t {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  };
  uint64_t total = get("MemTotal"), available = get("MemAvailable");
  return {{"total_bytes", total},
          {"available_bytes", available},
          {"used_bytes", total >= available ? total - available : 0},
          {"free_bytes", get("MemFree")}};
}

Json mounts_json(std::string_view proc_mounts) {
  Json out = Json::array();
  std::istringstream in{std::string(proc_mounts)};
  std::string source, target, type, options, rest;
  while (in >> source >> target >> type >> options) {
    std::getline(in, rest);
    out.push_back({{"source", unescape(source)}, {"target", unescape(target)}, {"type", type}, {"options", options}});
  }
  return out;
}

Json system_info() {
  Json j;
  utsname u{};
  if (::uname(&u) == 0) {
    j["kernel"] = {{"release", u.release}, {"version", u.version}, {"machine", u.machine}};
    j["hostname"] = u.nodename;
  }
  j["cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (auto m = fs::read_file("/proc/meminfo")) j["memory"] = memory_json(parse_meminfo(*m));
  if (auto m = fs::read_file("/proc/self/mounts")) j["mounts"] = mounts_json(*m);
  j["uptime_ms"] = boot_ms();
  return j;
}

}  // namespace berth::agent::init
