#include "platform.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>

namespace berth::agent::image {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}
}  // namespace

std::string Platform::string() const {
  std::string out = os + "/" + architecture;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Platform normalize(Platform p) {
  p.os = lower(p.os);
  p.architecture = lower(p.architecture);
  p.variant = lower(p.variant);
  if (p.os == "macos") p.os = "darwin";
  const std::string& a = p.architecture;
  if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    p.architecture = "amd64";
    if (p.variant == "v1") p.variant.clear();
  } else if (a == "i386" || a == "i686" || a == "386") {
    p.architecture = "386";
    p.variant.clear();
  } else if (a == "aarch64" || a == "arm64") {
    p.architecture = "arm64";
    if (p.variant == "8" || p.variant.empty()) p.variant = "v8";
  } else if (a == "armhf") {
    p.architecture = "arm";
    p.variant = "v7";
  } else if (a == "armel") {
    p.architecture = "arm";
    p.variant = "v6";
  } else if (a == "arm") {
    if (p.variant.empty() || p.variant == "7") p.variant = "v7";
    else if (p.variant == "5" || p.variant == "6" || p.variant == "8") p.variant = "v" + p.variant;
  }
  return p;
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool empty_part = std::any_of(parts.begin(), parts.end(), [](const std::string& s) { return s.empty(); });
  if (text.empty() || parts.size() > 3 || empty_part)
    return make_error(Errc::invalid_argument, "invalid platform \"" + std::string(text) +
                                                  "\": expected os[/arch[/variant]] like linux/arm64/v8");
  Platform p;
  if (parts.size() == 1) {
    // A lone word is an architecture unless it names an os Docker knows.
    std::string w = lower(parts[0]);
    if (w == "linux" || w == "windows" || w == "darwin") p.os = w, p.architecture = host_platform().architecture;
    else p.os = "linux", p.architecture = w;
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return normalize(std::move(p));
}

Platform host_platform() {
  struct utsname u {};
  Platform p;
  p.os = "linux";
  p.architecture = ::uname(&u) == 0 ? u.machine : "amd64";
  return normalize(std::move(p));
}

bool platform_matches(const Platform& want_raw, const Platform& have_raw) {
  Platform want = normalize(want_raw), have = normalize(have_raw);
  if (want.os != have.os || want.architecture != have.architecture) return false;
  return want.variant.empty() || have.variant.empty() || want.variant == have.variant;
}

int select_platform(const Platform& want_raw, const std::vector<Platform>& candidates) {
  Platform want = normalize(want_raw);
  int loose = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!platform_matches(want, candidates[i])) continue;
    if (normalize(candidates[i]).variant == want.variant) return static_cast<int>(i);
    if (loose < 0) loose = static_cast<int>(i);
  }
  return loose;
}

Platform platform_from_json(const Json& j, const std::string& path) {
  jsonf::get_object(j, path);
  Platform p;
  p.os = jsonf::opt_string(j, "os", path + ".os").value_or("");
  p.architecture = jsonf::opt_string(j, "architecture", path + ".architecture").value_or("");
  p.variant = jsonf::opt_string(j, "variant", path + ".variant").value_or("");
  p.os_version = jsonf::opt_string(j, "os.version", path + ".os.version").value_or("");
  return p;
}

Json platform_to_json(const Platform& p) {
  Json j = {{"architecture", p.architecture}, {"os", p.os}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  if (!p.os_version.empty()) j["os.version"] = p.os_version;
  return j;
}

}  // namespace berth::agent::image
