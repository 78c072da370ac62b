#include "caps.h"

#include <sys/capability.h>

#include <algorithm>
#include <cctype>
#include <fstream>

namespace berth::runtime {

int last_capability() {
  static int cached = [] {
    std::ifstream f("/proc/sys/kernel/cap_last_cap");
    int v = CAP_LAST_CAP;
    if (f >> v) return v;
    return static_cast<int>(CAP_LAST_CAP);
  }();
  return cached;
}

Result<uint64_t> capability_mask(const std::vector<std::string>& names, const std::string& field) {
  uint64_t mask = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string lower = names[i];
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    cap_value_t value;
    if (cap_from_name(lower.c_str(), &value) != 0 || value < 0 || value > 63)
      return make_error(Errc::invalid_argument, field + "[" + std::to_string(i) + "]: unknown capability \"" + names[i] + "\"");
    // Capabilities newer than the kernel are ignored, as runc does, so one config fits all kernels.
    if (value <= last_capability()) mask |= 1ULL << value;
  }
  return mask;
}

std::vector<std::string> all_capability_names() {
  std::vector<std::string> out;
  for (int cap = 0; cap <= last_capability(); ++cap) {
    char* name = cap_to_name(cap);
    std::string upper = name ? name : std::to_string(cap);
    cap_free(name);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return std::toupper(c); });
    out.push_back(upper);
  }
  return out;
}

}  // namespace berth::runtime
