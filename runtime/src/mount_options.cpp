#include "mount_options.h"

#include <sys/mount.h>

#include <map>

namespace berth::runtime {

namespace {
struct FlagEffect {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, FlagEffect>& flag_table() {
  static const std::map<std::string, FlagEffect> table = {
      {"defaults", {false, 0}},        {"ro", {false, MS_RDONLY}},          {"rw", {true, MS_RDONLY}},
      {"suid", {true, MS_NOSUID}},     {"nosuid", {false, MS_NOSUID}},      {"dev", {true, MS_NODEV}},
      {"nodev", {false, MS_NODEV}},    {"exec", {true, MS_NOEXEC}},         {"noexec", {false, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}}, {"async", {true, MS_SYNCHRONOUS}}, {"dirsync", {false, MS_DIRSYNC}},
      {"remount", {false, MS_REMOUNT}}, {"mand", {false, MS_MANDLOCK}},     {"nomand", {true, MS_MANDLOCK}},
      {"atime", {true, MS_NOATIME}},   {"noatime", {false, MS_NOATIME}},    {"diratime", {true, MS_NODIRATIME}},
      {"nodiratime", {false, MS_NODIRATIME}}, {"relatime", {false, MS_RELATIME}}, {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}}, {"nostrictatime", {true, MS_STRICTATIME}},
      {"lazytime", {false, MS_LAZYTIME}}, {"nolazytime", {true, MS_LAZYTIME}},
      {"nosymfollow", {false, MS_NOSYMFOLLOW}}, {"symfollow", {true, MS_NOSYMFOLLOW}},
  };
  return table;
}

const std::map<std::string, unsigned long>& propagation_table() {
  static const std::map<std::string, unsigned long> table = {
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC}, {"shared", MS_SHARED},
      {"rshared", MS_SHARED | MS_REC}, {"slave", MS_SLAVE},             {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return table;
}
}  // namespace

ParsedMountOptions parse_mount_options(const std::vector<std::string>& options) {
  ParsedMountOptions out;
  for (const auto& opt : options) {
    if (auto it = flag_table().find(opt); it != flag_table().end()) {
      if (it->second.clear) {
        out.flags &= ~it->second.flag;
        out.clear |= it->second.flag;
      } else {
        out.flags |= it->second.flag;
      }
    } else if (auto pt = propagation_table().find(opt); pt != propagation_table().end()) {
      out.propagation = pt->second;
    } else if (opt == "bind") {
      out.bind = true;
    } else if (opt == "rbind") {
      out.bind = true;
      out.recursive = true;
    } else if (opt == "idmap" || opt == "ridmap") {
      out.idmap = true;
      if (opt == "ridmap") out.recursive = true;
    } else if (opt == "tmpcopyup" || opt == "rro" || opt == "rrw") {
      // Accepted for compatibility; the first has no meaning without copy-up support,
      // the recursive ones are approximated by their plain forms.
      if (opt == "rro") out.flags |= MS_RDONLY;
    } else {
      if (!out.data.empty()) out.data += ',';
      out.data += opt;
    }
  }
  return out;
}

}  // namespace berth::runtime
