#include "defaults.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <set>

namespace berth::agent {

namespace {

// Capability numbers 0…40 in order (linux/capability.h).
constexpr std::array<const char*, 41> kCapNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",          "CAP_FSETID",
    "CAP_KILL",            "CAP_SETGID",       "CAP_SETUID",          "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",     "CAP_NET_RAW",         "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",       "CAP_SYS_MODULE",   "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",    "CAP_SYS_BOOT",        "CAP_SYS_NICE",        "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",         "CAP_LEASE",           "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",      "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",
    "CAP_WAKE_ALARM",      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"};

int last_cap() {
  std::ifstream f("/proc/sys/kernel/cap_last_cap");
  int v = -1;
  if (f >> v && v >= 0) return std::min<int>(v, static_cast<int>(kCapNames.size()) - 1);
  return static_cast<int>(kCapNames.size()) - 1;
}

}  // namespace

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE"};
  return caps;
}

std::vector<std::string> all_capabilities() {
  std::vector<std::string> out;
  int last = last_cap();
  for (int i = 0; i <= last; ++i) out.emplace_back(kCapNames[static_cast<size_t>(i)]);
  return out;
}

Result<std::string> normalize_capability(const std::string& name) {
  std::string up;
  for (char c : name) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (up == "ALL") return up;
  if (up.rfind("CAP_", 0) != 0) up = "CAP_" + up;
  for (const char* n : kCapNames)
    if (up == n) return up;
  return make_error(Errc::invalid_argument, "unknown capability: \"" + up + "\"");
}

Result<std::vector<std::string>> effective_capabilities(const std::vector<std::string>& cap_add,
                                                        const std::vector<std::string>& cap_drop, bool privileged) {
  std::set<std::string> add, drop;
  for (const auto& c : cap_add) add.insert(BERTH_TRY(normalize_capability(c)));
  for (const auto& c : cap_drop) drop.insert(BERTH_TRY(normalize_capability(c)));
  if (privileged) {
    auto all = all_capabilities();
    return all;
  }
  std::set<std::string> out;
  const auto base = add.count("ALL") ? all_capabilities() : default_capabilities();
  if (!drop.count("ALL"))
    for (const auto& c : base)
      if (!drop.count(c)) out.insert(c);
  for (const auto& c : add)
    if (c != "ALL") out.insert(c);
  return std::vector<std::string>(out.begin(), out.end());
}

const std::vector<std::string>& default_masked_paths() {
  static const std::vector<std::string> paths = {
      "/proc/asound",        "/proc/acpi",      "/proc/interrupts", "/proc/kcore",        "/proc/keys",
      "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
      "/sys/firmware",       "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& default_readonly_paths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  return paths;
}

}  // namespace berth::agent
