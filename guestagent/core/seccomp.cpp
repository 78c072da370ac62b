#include "seccomp.h"

#include <algorithm>

#include "json_reader.h"

namespace berth::agent {

extern const char* const kDefaultSeccompProfileText;

std::string_view default_seccomp_profile() { return kDefaultSeccompProfileText; }

std::string go_arch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "386";
  if (machine.rfind("arm", 0) == 0) return "arm";
  return std::string(machine);
}

namespace {

std::string native_scmp_arch(const std::string& arch) {
  if (arch == "amd64") return "SCMP_ARCH_X86_64";
  if (arch == "arm64") return "SCMP_ARCH_AARCH64";
  if (arch == "386") return "SCMP_ARCH_X86";
  if (arch == "arm") return "SCMP_ARCH_ARM";
  return "";
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// includes: every listed cap held and the arch listed (when lists are given);
// excludes: none of the listed caps held and the arch not listed.
bool applies(const ObjectReader& rule, const std::vector<std::string>& caps, const std::string& arch) {
  auto inc = rule.object("includes");
  auto exc = rule.object("excludes");
  auto inc_caps = inc.strings("caps");
  auto inc_arches = inc.strings("arches");
  auto exc_caps = exc.strings("caps");
  auto exc_arches = exc.strings("arches");
  if (!inc_arches.empty() && !contains(inc_arches, arch)) return false;
  for (const auto& c : inc_caps)
    if (!contains(caps, c)) return false;
  if (contains(exc_arches, arch)) return false;
  for (const auto& c : exc_caps)
    if (contains(caps, c)) return false;
  return true;
}

}  // namespace

Result<oci::LinuxSeccomp> resolve_seccomp_profile(std::string_view profile, const std::vector<std::string>& capabilities,
                                                  std::string_view machine) {
  Json doc;
  try {
    doc = Json::parse(profile);
  } catch (const Json::exception& e) {
    return make_error(Errc::invalid_argument, std::string("seccomp profile: invalid JSON: ") + e.what());
  }
  std::string arch = go_arch(machine);
  return read_boundary([&] {
    ObjectReader r(doc, "seccomp");
    oci::LinuxSeccomp out;
    out.defaultAction = r.str("defaultAction");
    if (out.defaultAction.empty()) throw JsonFieldError("seccomp.defaultAction", "required");
    if (auto e = r.opt_int64("defaultErrnoRet")) out.defaultErrnoRet = static_cast<uint32_t>(*e);
    out.architectures = r.strings("architectures");
    std::string native = native_scmp_arch(arch);
    for (auto& m : r.objects("archMap")) {
      if (m.str("architecture") != native) continue;
      out.architectures.push_back(native);
      for (auto& s : m.strings("subArchitectures")) out.architectures.push_back(s);
    }
    out.flags = r.strings("flags");
    for (auto& rule : r.objects("syscalls")) {
      if (!applies(rule, capabilities, arch)) continue;
      oci::LinuxSyscall sc;
      sc.names = rule.strings("names");
      if (sc.names.empty() && rule.has("name")) sc.names.push_back(rule.str("name"));
      sc.action = rule.str("action");
      if (sc.action.empty()) throw JsonFieldError(rule.child_path("action"), "required");
      if (auto e = rule.opt_int64("errnoRet")) sc.errnoRet = static_cast<uint32_t>(*e);
      for (auto& a : rule.objects("args")) {
        oci::LinuxSeccompArg arg;
        arg.index = static_cast<uint32_t>(a.int64("index"));
        arg.value = static_cast<uint64_t>(a.int64("value"));
        arg.valueTwo = static_cast<uint64_t>(a.int64("valueTwo"));
        arg.op = a.str("op");
        sc.args.push_back(arg);
      }
      out.syscalls.push_back(std::move(sc));
    }
    return out;
  });
}

}  // namespace berth::agent
