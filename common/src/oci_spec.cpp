#include "berth/common/oci/spec.h"

#include <algorithm>
#include <array>
#include <concepts>
#include <limits>
#include <set>
#include <type_traits>
#include <utility>

namespace berth::oci {
namespace {

// ---------------------------------------------------------------------------------------------
// Field paths

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string show(std::string_view s) {
  // Replace rather than throw: a Spec built in code may hold bytes that are not UTF-8, and
  // the error about it must still be printable.
  return Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Map keys such as sysctl names contain dots, so they are shown as ["net.ipv4.ip_forward"]
// to keep the path unambiguous.
std::string member(const std::string& base, std::string_view key) {
  std::string out = base;
  if (is_identifier(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += show(key);
    out += ']';
  }
  return out;
}

std::string element(const std::string& base, size_t i) { return base + "[" + std::to_string(i) + "]"; }

[[noreturn]] void fail(const std::string& path, std::string problem) {
  throw JsonFieldError(path, std::move(problem));
}

// ---------------------------------------------------------------------------------------------
// Reading

template <class T>
concept Integer = std::integral<T> && !std::same_as<T, bool>;

template <Integer T>
std::string int_type_name() {
  return std::string(std::is_signed_v<T> ? "int" : "uint") + std::to_string(sizeof(T) * 8);
}

// The JSON may hold any 64-bit integer; the struct field decides how many of them are valid.
template <Integer T>
T read_int(const Json& v, const std::string& path) {
  if constexpr (std::is_signed_v<T>) {
    int64_t n = jsonf::get_int(v, path);
    if constexpr (sizeof(T) < sizeof(int64_t)) {
      if (n < std::numeric_limits<T>::min() || n > std::numeric_limits<T>::max())
        fail(path, "value " + std::to_string(n) + " out of range for " + int_type_name<T>());
    }
    return static_cast<T>(n);
  } else {
    uint64_t n = jsonf::get_uint(v, path);
    if constexpr (sizeof(T) < sizeof(uint64_t)) {
      if (n > std::numeric_limits<T>::max())
        fail(path, "value " + std::to_string(n) + " out of range for " + int_type_name<T>());
    }
    return static_cast<T>(n);
  }
}

// One JSON object with its path. get() leaves the target untouched when the key is absent or
// null, so struct defaults stand; need() is for members whose absence the struct cannot show.
class Reader {
 public:
  Reader(const Json& value, std::string path) : obj_(jsonf::get_object(value, path)), path_(std::move(path)) {}

  std::string at(std::string_view key) const { return member(path_, key); }
  const Json* find(std::string_view key) const { return jsonf::find(obj_, key); }

  const Json& require(std::string_view key) const {
    const Json* v = find(key);
    if (!v) fail(at(key), "required field missing");
    return *v;
  }

  void get(std::string_view key, std::string& out) const {
    if (const Json* v = find(key)) out = jsonf::get_string(*v, at(key));
  }
  void get(std::string_view key, std::optional<std::string>& out) const {
    if (const Json* v = find(key)) out = jsonf::get_string(*v, at(key));
  }
  void get(std::string_view key, bool& out) const {
    if (const Json* v = find(key)) out = jsonf::get_bool(*v, at(key));
  }
  void get(std::string_view key, std::optional<bool>& out) const {
    if (const Json* v = find(key)) out = jsonf::get_bool(*v, at(key));
  }
  template <Integer T>
  void get(std::string_view key, T& out) const {
    if (const Json* v = find(key)) out = read_int<T>(*v, at(key));
  }
  template <Integer T>
  void get(std::string_view key, std::optional<T>& out) const {
    if (const Json* v = find(key)) out = read_int<T>(*v, at(key));
  }
  void get(std::string_view key, std::vector<std::string>& out) const {
    out = jsonf::opt_string_array(obj_, key, at(key));
  }
  template <Integer T>
  void get(std::string_view key, std::vector<T>& out) const {
    each(key, out, [](const Json& v, const std::string& path) { return read_int<T>(v, path); });
  }
  void get(std::string_view key, StringMap& out) const {
    const Json* v = find(key);
    if (!v) return;
    std::string path = at(key);
    for (const auto& [k, value] : jsonf::get_object(*v, path).items()) out[k] = jsonf::get_string(value, member(path, k));
  }

  template <class T>
  void need(std::string_view key, T& out) const {
    require(key);
    get(key, out);
  }

  template <class T, class Parse>
  void each(std::string_view key, std::vector<T>& out, Parse parse) const {
    const Json* v = find(key);
    if (!v) return;
    std::string path = at(key);
    const Json& array = jsonf::get_array(*v, path);
    out.clear();
    out.reserve(array.size());
    for (size_t i = 0; i < array.size(); ++i) out.push_back(parse(array[i], element(path, i)));
  }

  template <class T, class Parse>
  void object(std::string_view key, std::optional<T>& out, Parse parse) const {
    if (const Json* v = find(key)) out = parse(*v, at(key));
  }

 private:
  const Json& obj_;
  std::string path_;
};

Box read_box(const Json& j, const std::string& path) {
  Reader r(j, path);
  Box b;
  r.need("height", b.height);
  r.need("width", b.width);
  return b;
}

User read_user(const Json& j, const std::string& path) {
  Reader r(j, path);
  User u;
  // uid/gid default to 0 when absent, as runc does: hand-written exec process files omit them.
  r.get("uid", u.uid);
  r.get("gid", u.gid);
  r.get("umask", u.umask);
  r.get("additionalGids", u.additionalGids);
  r.get("username", u.username);
  return u;
}

LinuxCapabilities read_capabilities(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxCapabilities c;
  r.get("bounding", c.bounding);
  r.get("effective", c.effective);
  r.get("inheritable", c.inheritable);
  r.get("permitted", c.permitted);
  r.get("ambient", c.ambient);
  return c;
}

POSIXRlimit read_rlimit(const Json& j, const std::string& path) {
  Reader r(j, path);
  POSIXRlimit l;
  r.need("type", l.type);
  r.need("hard", l.hard);
  r.need("soft", l.soft);
  return l;
}

LinuxIOPriority read_io_priority(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxIOPriority p;
  r.need("class", p.class_);
  r.get("priority", p.priority);
  return p;
}

Scheduler read_scheduler(const Json& j, const std::string& path) {
  Reader r(j, path);
  Scheduler s;
  r.need("policy", s.policy);
  r.get("nice", s.nice);
  r.get("priority", s.priority);
  r.get("flags", s.flags);
  r.get("runtime", s.runtime);
  r.get("deadline", s.deadline);
  r.get("period", s.period);
  return s;
}

Process read_process(const Json& j, const std::string& path) {
  Reader r(j, path);
  Process p;
  r.get("terminal", p.terminal);
  r.object("consoleSize", p.consoleSize, read_box);
  if (const Json* v = r.find("user")) p.user = read_user(*v, r.at("user"));
  r.get("args", p.args);
  r.get("commandLine", p.commandLine);
  r.get("env", p.env);
  r.get("cwd", p.cwd);
  r.object("capabilities", p.capabilities, read_capabilities);
  r.each("rlimits", p.rlimits, read_rlimit);
  r.get("noNewPrivileges", p.noNewPrivileges);
  r.get("apparmorProfile", p.apparmorProfile);
  r.get("oomScoreAdj", p.oomScoreAdj);
  r.object("scheduler", p.scheduler, read_scheduler);
  r.get("selinuxLabel", p.selinuxLabel);
  r.object("ioPriority", p.ioPriority, read_io_priority);
  return p;
}

Root read_root(const Json& j, const std::string& path) {
  Reader r(j, path);
  Root root;
  r.need("path", root.path);
  r.get("readonly", root.readonly);
  return root;
}

LinuxIDMapping read_id_mapping(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxIDMapping m;
  r.need("containerID", m.containerID);
  r.need("hostID", m.hostID);
  r.need("size", m.size);
  return m;
}

Mount read_mount(const Json& j, const std::string& path) {
  Reader r(j, path);
  Mount m;
  r.need("destination", m.destination);
  r.get("type", m.type);
  r.get("source", m.source);
  r.get("options", m.options);
  r.each("uidMappings", m.uidMappings, read_id_mapping);
  r.each("gidMappings", m.gidMappings, read_id_mapping);
  return m;
}

Hook read_hook(const Json& j, const std::string& path) {
  Reader r(j, path);
  Hook h;
  r.need("path", h.path);
  r.get("args", h.args);
  r.get("env", h.env);
  r.get("timeout", h.timeout);
  return h;
}

Hooks read_hooks(const Json& j, const std::string& path) {
  Reader r(j, path);
  Hooks h;
  r.each("prestart", h.prestart, read_hook);
  r.each("createRuntime", h.createRuntime, read_hook);
  r.each("createContainer", h.createContainer, read_hook);
  r.each("startContainer", h.startContainer, read_hook);
  r.each("poststart", h.poststart, read_hook);
  r.each("poststop", h.poststop, read_hook);
  return h;
}

LinuxNamespace read_namespace(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxNamespace ns;
  r.need("type", ns.type);
  r.get("path", ns.path);
  return ns;
}

LinuxDevice read_device(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxDevice d;
  r.need("path", d.path);
  r.need("type", d.type);
  // A device node without its numbers would silently become 0:0; only FIFOs have none.
  if (d.type == "p") {
    r.get("major", d.major);
    r.get("minor", d.minor);
  } else {
    r.need("major", d.major);
    r.need("minor", d.minor);
  }
  r.get("fileMode", d.fileMode);
  r.get("uid", d.uid);
  r.get("gid", d.gid);
  return d;
}

LinuxDeviceCgroup read_device_cgroup(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxDeviceCgroup d;
  // Required: defaulting to deny would turn a typo in an allow rule into a broken container.
  r.need("allow", d.allow);
  r.get("type", d.type);
  r.get("major", d.major);
  r.get("minor", d.minor);
  r.get("access", d.access);
  return d;
}

LinuxMemory read_memory(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxMemory m;
  r.get("limit", m.limit);
  r.get("reservation", m.reservation);
  r.get("swap", m.swap);
  r.get("kernel", m.kernel);
  r.get("kernelTCP", m.kernelTCP);
  r.get("swappiness", m.swappiness);
  r.get("disableOOMKiller", m.disableOOMKiller);
  r.get("useHierarchy", m.useHierarchy);
  r.get("checkBeforeUpdate", m.checkBeforeUpdate);
  return m;
}

LinuxCPU read_cpu(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxCPU c;
  r.get("shares", c.shares);
  r.get("quota", c.quota);
  r.get("burst", c.burst);
  r.get("period", c.period);
  r.get("realtimeRuntime", c.realtimeRuntime);
  r.get("realtimePeriod", c.realtimePeriod);
  r.get("cpus", c.cpus);
  r.get("mems", c.mems);
  r.get("idle", c.idle);
  return c;
}

LinuxPids read_pids(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxPids p;
  // Absent means "no limit", which is also what 0 means to runc, so the default is faithful.
  r.get("limit", p.limit);
  return p;
}

LinuxWeightDevice read_weight_device(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxWeightDevice d;
  r.need("major", d.major);
  r.need("minor", d.minor);
  r.get("weight", d.weight);
  r.get("leafWeight", d.leafWeight);
  return d;
}

LinuxThrottleDevice read_throttle_device(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxThrottleDevice d;
  r.need("major", d.major);
  r.need("minor", d.minor);
  r.need("rate", d.rate);
  return d;
}

LinuxBlockIO read_block_io(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxBlockIO b;
  r.get("weight", b.weight);
  r.get("leafWeight", b.leafWeight);
  r.each("weightDevice", b.weightDevice, read_weight_device);
  r.each("throttleReadBpsDevice", b.throttleReadBpsDevice, read_throttle_device);
  r.each("throttleWriteBpsDevice", b.throttleWriteBpsDevice, read_throttle_device);
  r.each("throttleReadIOPSDevice", b.throttleReadIOPSDevice, read_throttle_device);
  r.each("throttleWriteIOPSDevice", b.throttleWriteIOPSDevice, read_throttle_device);
  return b;
}

LinuxHugepageLimit read_hugepage_limit(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxHugepageLimit h;
  r.need("pageSize", h.pageSize);
  r.need("limit", h.limit);
  return h;
}

LinuxInterfacePriority read_interface_priority(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxInterfacePriority p;
  r.need("name", p.name);
  r.need("priority", p.priority);
  return p;
}

LinuxNetwork read_network(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxNetwork n;
  r.get("classID", n.classID);
  r.each("priorities", n.priorities, read_interface_priority);
  return n;
}

LinuxResources read_resources(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxResources res;
  r.each("devices", res.devices, read_device_cgroup);
  r.object("memory", res.memory, read_memory);
  r.object("cpu", res.cpu, read_cpu);
  r.object("pids", res.pids, read_pids);
  r.object("blockIO", res.blockIO, read_block_io);
  r.each("hugepageLimits", res.hugepageLimits, read_hugepage_limit);
  r.object("network", res.network, read_network);
  r.get("unified", res.unified);
  return res;
}

LinuxSeccompArg read_seccomp_arg(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxSeccompArg a;
  r.need("index", a.index);
  r.need("value", a.value);
  r.get("valueTwo", a.valueTwo);
  r.need("op", a.op);
  return a;
}

LinuxSyscall read_syscall(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxSyscall s;
  r.need("names", s.names);
  r.need("action", s.action);
  r.get("errnoRet", s.errnoRet);
  r.each("args", s.args, read_seccomp_arg);
  return s;
}

LinuxSeccomp read_seccomp(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxSeccomp s;
  r.need("defaultAction", s.defaultAction);
  r.get("defaultErrnoRet", s.defaultErrnoRet);
  r.get("architectures", s.architectures);
  r.get("flags", s.flags);
  r.get("listenerPath", s.listenerPath);
  r.get("listenerMetadata", s.listenerMetadata);
  r.each("syscalls", s.syscalls, read_syscall);
  return s;
}

LinuxPersonality read_personality(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxPersonality p;
  r.need("domain", p.domain);
  r.get("flags", p.flags);
  return p;
}

LinuxTimeOffset read_time_offset(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxTimeOffset t;
  r.get("secs", t.secs);
  r.get("nanosecs", t.nanosecs);
  return t;
}

LinuxIntelRdt read_intel_rdt(const Json& j, const std::string& path) {
  Reader r(j, path);
  LinuxIntelRdt i;
  r.get("closID", i.closID);
  r.get("l3CacheSchema", i.l3CacheSchema);
  r.get("memBwSchema", i.memBwSchema);
  return i;
}

Linux read_linux(const Json& j, const std::string& path) {
  Reader r(j, path);
  Linux l;
  r.each("uidMappings", l.uidMappings, read_id_mapping);
  r.each("gidMappings", l.gidMappings, read_id_mapping);
  if (const Json* v = r.find("timeOffsets")) {
    std::string base = r.at("timeOffsets");
    for (const auto& [clock, offset] : jsonf::get_object(*v, base).items())
      l.timeOffsets[clock] = read_time_offset(offset, member(base, clock));
  }
  r.get("sysctl", l.sysctl);
  r.object("resources", l.resources, read_resources);
  r.get("cgroupsPath", l.cgroupsPath);
  r.each("namespaces", l.namespaces, read_namespace);
  r.each("devices", l.devices, read_device);
  r.object("seccomp", l.seccomp, read_seccomp);
  r.get("rootfsPropagation", l.rootfsPropagation);
  r.get("maskedPaths", l.maskedPaths);
  r.get("readonlyPaths", l.readonlyPaths);
  r.get("mountLabel", l.mountLabel);
  r.object("intelRdt", l.intelRdt, read_intel_rdt);
  r.object("personality", l.personality, read_personality);
  return l;
}

Spec read_spec(const Json& j) {
  Reader r(j, "");
  Spec s;
  r.get("ociVersion", s.ociVersion);
  r.object("process", s.process, read_process);
  r.object("root", s.root, read_root);
  r.get("hostname", s.hostname);
  r.get("domainname", s.domainname);
  r.each("mounts", s.mounts, read_mount);
  r.object("hooks", s.hooks, read_hooks);
  r.get("annotations", s.annotations);
  r.object("linux", s.linux, read_linux);
  return s;
}

// The document itself has no field path, so a non-object is reported here rather than as
// an empty path.
template <class T, class Read>
Result<T> parse_document(std::string_view text, std::string_view what, Read read) {
  auto doc = parse_json(text, what);
  if (!doc) return tl::unexpected(std::move(doc).error());
  if (!doc->is_object())
    return make_error(Errc::invalid_argument, std::string(what) + ": expected a JSON object, got " + doc->type_name());
  return json_boundary(what, [&] { return read(*doc); });
}

// ---------------------------------------------------------------------------------------------
// Writing: keys that Go's specs-go always emits are always written, the rest only when set.

template <class T, class Emit>
void put_each(Json& j, const char* key, const std::vector<T>& v, Emit emit) {
  if (v.empty()) return;
  Json array = Json::array();
  for (const auto& item : v) array.push_back(emit(item));
  j[key] = std::move(array);
}

void put_strings(Json& j, const char* key, const std::vector<std::string>& v) {
  if (!v.empty()) j[key] = v;
}

void put_string(Json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}

void put_map(Json& j, const char* key, const StringMap& v) {
  if (!v.empty()) j[key] = v;
}

template <class T>
void put_opt(Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

template <class T, class Emit>
void put_opt(Json& j, const char* key, const std::optional<T>& v, Emit emit) {
  if (v) j[key] = emit(*v);
}

Json emit_box(const Box& b) { return {{"height", b.height}, {"width", b.width}}; }

Json emit_user(const User& u) {
  Json j = {{"uid", u.uid}, {"gid", u.gid}};
  put_opt(j, "umask", u.umask);
  if (!u.additionalGids.empty()) j["additionalGids"] = u.additionalGids;
  put_string(j, "username", u.username);
  return j;
}

Json emit_capabilities(const LinuxCapabilities& c) {
  Json j = Json::object();
  put_strings(j, "bounding", c.bounding);
  put_strings(j, "effective", c.effective);
  put_strings(j, "inheritable", c.inheritable);
  put_strings(j, "permitted", c.permitted);
  put_strings(j, "ambient", c.ambient);
  return j;
}

Json emit_rlimit(const POSIXRlimit& l) { return {{"type", l.type}, {"hard", l.hard}, {"soft", l.soft}}; }

Json emit_io_priority(const LinuxIOPriority& p) { return {{"class", p.class_}, {"priority", p.priority}}; }

Json emit_scheduler(const Scheduler& s) {
  Json j = {{"policy", s.policy}};
  put_opt(j, "nice", s.nice);
  put_opt(j, "priority", s.priority);
  put_strings(j, "flags", s.flags);
  put_opt(j, "runtime", s.runtime);
  put_opt(j, "deadline", s.deadline);
  put_opt(j, "period", s.period);
  return j;
}

Json emit_process(const Process& p) {
  Json j = Json::object();
  if (p.terminal) j["terminal"] = true;
  put_opt(j, "consoleSize", p.consoleSize, emit_box);
  j["user"] = emit_user(p.user);
  put_strings(j, "args", p.args);
  put_opt(j, "commandLine", p.commandLine);
  put_strings(j, "env", p.env);
  j["cwd"] = p.cwd;
  put_opt(j, "capabilities", p.capabilities, emit_capabilities);
  put_each(j, "rlimits", p.rlimits, emit_rlimit);
  if (p.noNewPrivileges) j["noNewPrivileges"] = true;
  put_string(j, "apparmorProfile", p.apparmorProfile);
  put_opt(j, "oomScoreAdj", p.oomScoreAdj);
  put_opt(j, "scheduler", p.scheduler, emit_scheduler);
  put_string(j, "selinuxLabel", p.selinuxLabel);
  put_opt(j, "ioPriority", p.ioPriority, emit_io_priority);
  return j;
}

Json emit_root(const Root& r) {
  Json j = {{"path", r.path}};
  if (r.readonly) j["readonly"] = true;
  return j;
}

Json emit_id_mapping(const LinuxIDMapping& m) {
  return {{"containerID", m.containerID}, {"hostID", m.hostID}, {"size", m.size}};
}

Json emit_mount(const Mount& m) {
  Json j = {{"destination", m.destination}};
  put_string(j, "type", m.type);
  put_string(j, "source", m.source);
  put_strings(j, "options", m.options);
  put_each(j, "uidMappings", m.uidMappings, emit_id_mapping);
  put_each(j, "gidMappings", m.gidMappings, emit_id_mapping);
  return j;
}

Json emit_hook(const Hook& h) {
  Json j = {{"path", h.path}};
  put_strings(j, "args", h.args);
  put_strings(j, "env", h.env);
  put_opt(j, "timeout", h.timeout);
  return j;
}

Json emit_hooks(const Hooks& h) {
  Json j = Json::object();
  put_each(j, "prestart", h.prestart, emit_hook);
  put_each(j, "createRuntime", h.createRuntime, emit_hook);
  put_each(j, "createContainer", h.createContainer, emit_hook);
  put_each(j, "startContainer", h.startContainer, emit_hook);
  put_each(j, "poststart", h.poststart, emit_hook);
  put_each(j, "poststop", h.poststop, emit_hook);
  return j;
}

Json emit_namespace(const LinuxNamespace& ns) {
  Json j = {{"type", ns.type}};
  put_string(j, "path", ns.path);
  return j;
}

Json emit_device(const LinuxDevice& d) {
  Json j = {{"path", d.path}, {"type", d.type}, {"major", d.major}, {"minor", d.minor}};
  put_opt(j, "fileMode", d.fileMode);
  put_opt(j, "uid", d.uid);
  put_opt(j, "gid", d.gid);
  return j;
}

Json emit_device_cgroup(const LinuxDeviceCgroup& d) {
  Json j = {{"allow", d.allow}};
  put_string(j, "type", d.type);
  put_opt(j, "major", d.major);
  put_opt(j, "minor", d.minor);
  put_string(j, "access", d.access);
  return j;
}

Json emit_memory(const LinuxMemory& m) {
  Json j = Json::object();
  put_opt(j, "limit", m.limit);
  put_opt(j, "reservation", m.reservation);
  put_opt(j, "swap", m.swap);
  put_opt(j, "kernel", m.kernel);
  put_opt(j, "kernelTCP", m.kernelTCP);
  put_opt(j, "swappiness", m.swappiness);
  put_opt(j, "disableOOMKiller", m.disableOOMKiller);
  put_opt(j, "useHierarchy", m.useHierarchy);
  put_opt(j, "checkBeforeUpdate", m.checkBeforeUpdate);
  return j;
}

Json emit_cpu(const LinuxCPU& c) {
  Json j = Json::object();
  put_opt(j, "shares", c.shares);
  put_opt(j, "quota", c.quota);
  put_opt(j, "burst", c.burst);
  put_opt(j, "period", c.period);
  put_opt(j, "realtimeRuntime", c.realtimeRuntime);
  put_opt(j, "realtimePeriod", c.realtimePeriod);
  put_string(j, "cpus", c.cpus);
  put_string(j, "mems", c.mems);
  put_opt(j, "idle", c.idle);
  return j;
}

Json emit_weight_device(const LinuxWeightDevice& d) {
  Json j = {{"major", d.major}, {"minor", d.minor}};
  put_opt(j, "weight", d.weight);
  put_opt(j, "leafWeight", d.leafWeight);
  return j;
}

Json emit_throttle_device(const LinuxThrottleDevice& d) {
  return {{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}};
}

Json emit_block_io(const LinuxBlockIO& b) {
  Json j = Json::object();
  put_opt(j, "weight", b.weight);
  put_opt(j, "leafWeight", b.leafWeight);
  put_each(j, "weightDevice", b.weightDevice, emit_weight_device);
  put_each(j, "throttleReadBpsDevice", b.throttleReadBpsDevice, emit_throttle_device);
  put_each(j, "throttleWriteBpsDevice", b.throttleWriteBpsDevice, emit_throttle_device);
  put_each(j, "throttleReadIOPSDevice", b.throttleReadIOPSDevice, emit_throttle_device);
  put_each(j, "throttleWriteIOPSDevice", b.throttleWriteIOPSDevice, emit_throttle_device);
  return j;
}

Json emit_hugepage_limit(const LinuxHugepageLimit& h) { return {{"pageSize", h.pageSize}, {"limit", h.limit}}; }

Json emit_interface_priority(const LinuxInterfacePriority& p) { return {{"name", p.name}, {"priority", p.priority}}; }

Json emit_network(const LinuxNetwork& n) {
  Json j = Json::object();
  put_opt(j, "classID", n.classID);
  put_each(j, "priorities", n.priorities, emit_interface_priority);
  return j;
}

Json emit_resources(const LinuxResources& r) {
  Json j = Json::object();
  put_each(j, "devices", r.devices, emit_device_cgroup);
  put_opt(j, "memory", r.memory, emit_memory);
  put_opt(j, "cpu", r.cpu, emit_cpu);
  put_opt(j, "pids", r.pids, [](const LinuxPids& p) { return Json{{"limit", p.limit}}; });
  put_opt(j, "blockIO", r.blockIO, emit_block_io);
  put_each(j, "hugepageLimits", r.hugepageLimits, emit_hugepage_limit);
  put_opt(j, "network", r.network, emit_network);
  put_map(j, "unified", r.unified);
  return j;
}

Json emit_seccomp_arg(const LinuxSeccompArg& a) {
  Json j = {{"index", a.index}, {"value", a.value}, {"op", a.op}};
  if (a.valueTwo != 0) j["valueTwo"] = a.valueTwo;
  return j;
}

Json emit_syscall(const LinuxSyscall& s) {
  Json j = {{"names", s.names}, {"action", s.action}};
  put_opt(j, "errnoRet", s.errnoRet);
  put_each(j, "args", s.args, emit_seccomp_arg);
  return j;
}

Json emit_seccomp(const LinuxSeccomp& s) {
  Json j = {{"defaultAction", s.defaultAction}};
  put_opt(j, "defaultErrnoRet", s.defaultErrnoRet);
  put_strings(j, "architectures", s.architectures);
  put_strings(j, "flags", s.flags);
  put_string(j, "listenerPath", s.listenerPath);
  put_string(j, "listenerMetadata", s.listenerMetadata);
  put_each(j, "syscalls", s.syscalls, emit_syscall);
  return j;
}

Json emit_personality(const LinuxPersonality& p) {
  Json j = {{"domain", p.domain}};
  put_strings(j, "flags", p.flags);
  return j;
}

Json emit_intel_rdt(const LinuxIntelRdt& i) {
  Json j = Json::object();
  put_string(j, "closID", i.closID);
  put_string(j, "l3CacheSchema", i.l3CacheSchema);
  put_string(j, "memBwSchema", i.memBwSchema);
  return j;
}

Json emit_linux(const Linux& l) {
  Json j = Json::object();
  put_each(j, "uidMappings", l.uidMappings, emit_id_mapping);
  put_each(j, "gidMappings", l.gidMappings, emit_id_mapping);
  if (!l.timeOffsets.empty()) {
    Json offsets = Json::object();
    for (const auto& [clock, t] : l.timeOffsets) offsets[clock] = {{"secs", t.secs}, {"nanosecs", t.nanosecs}};
    j["timeOffsets"] = std::move(offsets);
  }
  put_map(j, "sysctl", l.sysctl);
  put_opt(j, "resources", l.resources, emit_resources);
  put_string(j, "cgroupsPath", l.cgroupsPath);
  put_each(j, "namespaces", l.namespaces, emit_namespace);
  put_each(j, "devices", l.devices, emit_device);
  put_opt(j, "seccomp", l.seccomp, emit_seccomp);
  put_string(j, "rootfsPropagation", l.rootfsPropagation);
  put_strings(j, "maskedPaths", l.maskedPaths);
  put_strings(j, "readonlyPaths", l.readonlyPaths);
  put_string(j, "mountLabel", l.mountLabel);
  put_opt(j, "intelRdt", l.intelRdt, emit_intel_rdt);
  put_opt(j, "personality", l.personality, emit_personality);
  return j;
}

// ---------------------------------------------------------------------------------------------
// Validation. Checks throw JsonFieldError like the readers so that paths are built the same
// way; the public functions turn the first failure into an Error.

constexpr std::array<std::string_view, 41> kCapabilities = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",         "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",      "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",    "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",    "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",     "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",  "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",    "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",   "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

constexpr std::array<std::string_view, 16> kRlimits = {
    "RLIMIT_CPU",    "RLIMIT_FSIZE", "RLIMIT_DATA",  "RLIMIT_STACK",      "RLIMIT_CORE",     "RLIMIT_RSS",
    "RLIMIT_NPROC",  "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS",      "RLIMIT_LOCKS",    "RLIMIT_SIGPENDING",
    "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
};

constexpr std::array<std::string_view, 8> kNamespaces = {"pid", "network", "mount", "ipc",
                                                         "uts", "user",    "cgroup", "time"};

constexpr std::array<std::string_view, 9> kSeccompActions = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",        "SCMP_ACT_LOG",         "SCMP_ACT_NOTIFY",
};

constexpr std::array<std::string_view, 7> kSeccompOps = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

// libseccomp's names, a superset of the spec's list so that newer profiles are not refused.
constexpr std::array<std::string_view, 23> kSeccompArches = {
    "SCMP_ARCH_X86",       "SCMP_ARCH_X86_64",    "SCMP_ARCH_X32",       "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",   "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPS64",    "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",     "SCMP_ARCH_PPC64",     "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",      "SCMP_ARCH_S390X",     "SCMP_ARCH_PARISC",    "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_RISCV64",   "SCMP_ARCH_SH",        "SCMP_ARCH_SHEB",
};

constexpr std::array<std::string_view, 3> kSeccompFlags = {
    "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

constexpr std::array<std::string_view, 7> kSchedPolicies = {
    "SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO", "SCHED_IDLE", "SCHED_DEADLINE"};

constexpr std::array<std::string_view, 7> kSchedFlags = {
    "SCHED_FLAG_RESET_ON_FORK",  "SCHED_FLAG_RECLAIM",        "SCHED_FLAG_DL_OVERRUN",     "SCHED_FLAG_KEEP_POLICY",
    "SCHED_FLAG_KEEP_PARAMS",    "SCHED_FLAG_UTIL_CLAMP_MIN", "SCHED_FLAG_UTIL_CLAMP_MAX",
};

constexpr std::array<std::string_view, 3> kIoPriorityClasses = {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE",
                                                                "IOPRIO_CLASS_IDLE"};

constexpr std::array<std::string_view, 8> kPropagations = {"shared", "slave", "private", "unbindable",
                                                           "rshared", "rslave", "rprivate", "runbindable"};

template <size_t N>
bool known(const std::array<std::string_view, N>& table, std::string_view name) {
  return std::find(table.begin(), table.end(), name) != table.end();
}

template <size_t N>
void check_known(const std::array<std::string_view, N>& table, std::string_view name, const std::string& path,
                 std::string_view what) {
  if (name.empty()) fail(path, "required field missing");
  if (!known(table, name)) fail(path, "unknown " + std::string(what) + " " + show(name));
}

bool is_absolute(std::string_view path) { return !path.empty() && path.front() == '/'; }

void check_absolute(std::string_view path, const std::string& where) {
  if (path.empty()) fail(where, "required field missing");
  if (!is_absolute(path)) fail(where, "must be an absolute path, got " + show(path));
}

// execve() would cut the string at the NUL and run something other than what was written.
void check_no_nul(const std::string& s, const std::string& where) {
  if (s.find('\0') != std::string::npos) fail(where, "contains a NUL byte");
}

void check_env(const std::vector<std::string>& env, const std::string& where) {
  for (size_t i = 0; i < env.size(); ++i) {
    std::string path = element(where, i);
    check_no_nul(env[i], path);
    size_t eq = env[i].find('=');
    if (eq == std::string::npos) fail(path, "expected KEY=value, got " + show(env[i]));
    if (eq == 0) fail(path, "empty variable name");
  }
}

void check_capabilities(const LinuxCapabilities& caps, const std::string& where) {
  auto set = [&](const char* key, const std::vector<std::string>& names) {
    std::string base = member(where, key);
    for (size_t i = 0; i < names.size(); ++i)
      if (!known(kCapabilities, names[i])) fail(element(base, i), "unknown capability " + show(names[i]));
  };
  set("bounding", caps.bounding);
  set("effective", caps.effective);
  set("inheritable", caps.inheritable);
  set("permitted", caps.permitted);
  set("ambient", caps.ambient);
}

void check_rlimits(const std::vector<POSIXRlimit>& rlimits, const std::string& where) {
  std::set<std::string> seen;
  for (size_t i = 0; i < rlimits.size(); ++i) {
    std::string path = element(where, i);
    const POSIXRlimit& l = rlimits[i];
    check_known(kRlimits, l.type, member(path, "type"), "rlimit type");
    if (!seen.insert(l.type).second) fail(member(path, "type"), "duplicate rlimit " + show(l.type));
    if (l.soft > l.hard)
      fail(member(path, "soft"),
           "soft limit " + std::to_string(l.soft) + " exceeds hard limit " + std::to_string(l.hard));
  }
}

void check_scheduler(const Scheduler& s, const std::string& where) {
  check_known(kSchedPolicies, s.policy, member(where, "policy"), "scheduler policy");
  if (s.nice && (*s.nice < -20 || *s.nice > 19))
    fail(member(where, "nice"), "must be between -20 and 19, got " + std::to_string(*s.nice));
  bool realtime = s.policy == "SCHED_FIFO" || s.policy == "SCHED_RR";
  // A zero priority/runtime is what Go's omitempty drops, so zero counts as not set.
  if (s.priority && *s.priority != 0) {
    if (!realtime) fail(member(where, "priority"), "only valid with SCHED_FIFO or SCHED_RR");
    if (*s.priority < 1 || *s.priority > 99)
      fail(member(where, "priority"), "must be between 1 and 99, got " + std::to_string(*s.priority));
  }
  if (s.policy != "SCHED_DEADLINE") {
    auto deadline_only = [&](const char* key, const std::optional<uint64_t>& value) {
      if (value && *value != 0) fail(member(where, key), "only valid with SCHED_DEADLINE");
    };
    deadline_only("runtime", s.runtime);
    deadline_only("deadline", s.deadline);
    deadline_only("period", s.period);
  } else {
    uint64_t runtime = s.runtime.value_or(0), deadline = s.deadline.value_or(0), period = s.period.value_or(0);
    if (deadline != 0 && runtime > deadline) fail(member(where, "runtime"), "must not exceed deadline");
    if (period != 0 && deadline > period) fail(member(where, "deadline"), "must not exceed period");
  }
  for (size_t i = 0; i < s.flags.size(); ++i)
    check_known(kSchedFlags, s.flags[i], element(member(where, "flags"), i), "scheduler flag");
}

// `where` is "process" inside config.json and "" for a standalone process file.
void check_process(const Process& p, const std::string& where) {
  std::string args = member(where, "args");
  if (p.args.empty()) fail(args, "must not be empty");
  for (size_t i = 0; i < p.args.size(); ++i) check_no_nul(p.args[i], element(args, i));
  if (p.args[0].empty()) fail(element(args, 0), "must not be empty");
  check_env(p.env, member(where, "env"));
  check_absolute(p.cwd, member(where, "cwd"));
  if (p.user.umask && *p.user.umask > 0777)
    fail(member(member(where, "user"), "umask"), "must be at most 0777, got " + std::to_string(*p.user.umask));
  if (p.capabilities) check_capabilities(*p.capabilities, member(where, "capabilities"));
  check_rlimits(p.rlimits, member(where, "rlimits"));
  if (p.oomScoreAdj && (*p.oomScoreAdj < -1000 || *p.oomScoreAdj > 1000))
    fail(member(where, "oomScoreAdj"), "must be between -1000 and 1000, got " + std::to_string(*p.oomScoreAdj));
  if (p.scheduler) check_scheduler(*p.scheduler, member(where, "scheduler"));
  if (p.ioPriority) {
    std::string base = member(where, "ioPriority");
    check_known(kIoPriorityClasses, p.ioPriority->class_, member(base, "class"), "I/O priority class");
    if (p.ioPriority->priority < 0 || p.ioPriority->priority > 7)
      fail(member(base, "priority"), "must be between 0 and 7, got " + std::to_string(p.ioPriority->priority));
  }
}

void check_id_mappings(const std::vector<LinuxIDMapping>& maps, const std::string& where) {
  constexpr uint64_t kIdSpace = uint64_t{1} << 32;
  for (size_t i = 0; i < maps.size(); ++i) {
    std::string path = element(where, i);
    const LinuxIDMapping& m = maps[i];
    if (m.size == 0) fail(member(path, "size"), "must be greater than 0");
    if (uint64_t{m.containerID} + m.size > kIdSpace) fail(member(path, "size"), "containerID + size exceeds 2^32");
    if (uint64_t{m.hostID} + m.size > kIdSpace) fail(member(path, "size"), "hostID + size exceeds 2^32");
  }
}

bool has_option(const std::vector<std::string>& options, std::string_view a, std::string_view b) {
  return std::any_of(options.begin(), options.end(), [&](const std::string& o) { return o == a || o == b; });
}

void check_mount(const Mount& m, const std::string& where) {
  // Relative destinations are accepted, as runc does; see mount_destination().
  if (m.destination.empty()) fail(member(where, "destination"), "required field missing");
  check_id_mappings(m.uidMappings, member(where, "uidMappings"));
  check_id_mappings(m.gidMappings, member(where, "gidMappings"));
  if (m.uidMappings.empty() != m.gidMappings.empty())
    fail(member(where, m.uidMappings.empty() ? "uidMappings" : "gidMappings"),
         "id-mapped mounts need both uidMappings and gidMappings");
  if (!m.uidMappings.empty() && m.type != "bind" && !has_option(m.options, "bind", "rbind"))
    fail(member(where, "uidMappings"), "id-mapped mounts must be bind mounts");
}

void check_hooks(const Hooks& hooks) {
  auto list = [](const char* key, const std::vector<Hook>& hs) {
    std::string base = member("hooks", key);
    for (size_t i = 0; i < hs.size(); ++i) {
      std::string path = element(base, i);
      check_absolute(hs[i].path, member(path, "path"));
      check_env(hs[i].env, member(path, "env"));
      if (hs[i].timeout && *hs[i].timeout <= 0)
        fail(member(path, "timeout"), "must be greater than 0, got " + std::to_string(*hs[i].timeout));
    }
  };
  list("prestart", hooks.prestart);
  list("createRuntime", hooks.createRuntime);
  list("createContainer", hooks.createContainer);
  list("startContainer", hooks.startContainer);
  list("poststart", hooks.poststart);
  list("poststop", hooks.poststop);
}

void check_weight(const std::optional<uint16_t>& w, const std::string& where) {
  // 0 means "not set": Docker sends it for every container without --blkio-weight.
  if (w && *w != 0 && (*w < 10 || *w > 1000)) fail(where, "must be 0 (unset) or between 10 and 1000, got " + std::to_string(*w));
}

bool valid_page_size(std::string_view s) {
  // "<digits><K|M|G|...>B", e.g. 2MB, 1GB, 64KB.
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0 || s.size() != digits + 2 || s.back() != 'B') return false;
  return std::string_view("KMGTPE").find(s[digits]) != std::string_view::npos;
}

void check_resources(const LinuxResources& r, const std::string& where) {
  std::string devices = member(where, "devices");
  for (size_t i = 0; i < r.devices.size(); ++i) {
    std::string path = element(devices, i);
    const LinuxDeviceCgroup& d = r.devices[i];
    if (!d.type.empty() && d.type != "a" && d.type != "b" && d.type != "c")
      fail(member(path, "type"), "must be a, b or c, got " + show(d.type));
    if (d.access.find_first_not_of("rwm") != std::string::npos)
      fail(member(path, "access"), "must be a combination of r, w and m, got " + show(d.access));
    // -1 is the wildcard some generators write instead of omitting the number.
    if (d.major && *d.major < -1) fail(member(path, "major"), "must not be negative");
    if (d.minor && *d.minor < -1) fail(member(path, "minor"), "must not be negative");
  }
  if (r.memory) {
    std::string base = member(where, "memory");
    const LinuxMemory& m = *r.memory;
    auto bytes = [&](const char* key, const std::optional<int64_t>& value) {
      if (value && *value < -1) fail(member(base, key), "must be -1 (unlimited) or a byte count");
    };
    bytes("limit", m.limit);
    bytes("reservation", m.reservation);
    bytes("swap", m.swap);
    // uint64 max is -1 cast by callers that mean "leave the kernel default"; runc accepts it.
    if (m.swappiness && *m.swappiness > 100 && *m.swappiness != std::numeric_limits<uint64_t>::max())
      fail(member(base, "swappiness"), "must be between 0 and 100, got " + std::to_string(*m.swappiness));
    if (m.limit && m.swap && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit)
      fail(member(base, "swap"), "memory+swap limit must not be lower than the memory limit");
  }
  if (r.cpu && r.cpu->idle && *r.cpu->idle != 0 && *r.cpu->idle != 1)
    fail(member(member(where, "cpu"), "idle"), "must be 0 or 1, got " + std::to_string(*r.cpu->idle));
  if (r.blockIO) {
    std::string base = member(where, "blockIO");
    check_weight(r.blockIO->weight, member(base, "weight"));
    check_weight(r.blockIO->leafWeight, member(base, "leafWeight"));
    std::string wd = member(base, "weightDevice");
    for (size_t i = 0; i < r.blockIO->weightDevice.size(); ++i) {
      check_weight(r.blockIO->weightDevice[i].weight, member(element(wd, i), "weight"));
      check_weight(r.blockIO->weightDevice[i].leafWeight, member(element(wd, i), "leafWeight"));
    }
  }
  std::string huge = member(where, "hugepageLimits");
  for (size_t i = 0; i < r.hugepageLimits.size(); ++i)
    if (!valid_page_size(r.hugepageLimits[i].pageSize))
      fail(member(element(huge, i), "pageSize"),
           "expected a size like \"2MB\", got " + show(r.hugepageLimits[i].pageSize));
  if (r.network) {
    std::string prio = member(member(where, "network"), "priorities");
    for (size_t i = 0; i < r.network->priorities.size(); ++i)
      if (r.network->priorities[i].name.empty()) fail(member(element(prio, i), "name"), "required field missing");
  }
  // Unified keys name files in the container's cgroup directory; a slash would escape it.
  for (const auto& [key, value] : r.unified) {
    std::string path = member(member(where, "unified"), key);
    if (key.empty() || key.find('/') != std::string::npos || key == "." || key == "..")
      fail(path, "must be a cgroup file name");
  }
}

bool action_takes_errno(std::string_view action) { return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE"; }

void check_seccomp(const LinuxSeccomp& s, const std::string& where) {
  check_known(kSeccompActions, s.defaultAction, member(where, "defaultAction"), "seccomp action");
  // The notify listener would itself run under the filter and could never be reached.
  if (s.defaultAction == "SCMP_ACT_NOTIFY") fail(member(where, "defaultAction"), "SCMP_ACT_NOTIFY cannot be the default action");
  if (s.defaultErrnoRet && !action_takes_errno(s.defaultAction))
    fail(member(where, "defaultErrnoRet"), "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
  for (size_t i = 0; i < s.architectures.size(); ++i)
    check_known(kSeccompArches, s.architectures[i], element(member(where, "architectures"), i), "seccomp architecture");
  for (size_t i = 0; i < s.flags.size(); ++i)
    check_known(kSeccompFlags, s.flags[i], element(member(where, "flags"), i), "seccomp flag");
  if (!s.listenerPath.empty()) check_absolute(s.listenerPath, member(where, "listenerPath"));
  std::string syscalls = member(where, "syscalls");
  for (size_t i = 0; i < s.syscalls.size(); ++i) {
    std::string path = element(syscalls, i);
    const LinuxSyscall& sc = s.syscalls[i];
    if (sc.names.empty()) fail(member(path, "names"), "must not be empty");
    for (size_t n = 0; n < sc.names.size(); ++n)
      if (sc.names[n].empty()) fail(element(member(path, "names"), n), "must not be empty");
    check_known(kSeccompActions, sc.action, member(path, "action"), "seccomp action");
    if (sc.action == "SCMP_ACT_NOTIFY" && s.listenerPath.empty())
      fail(member(where, "listenerPath"), "required when a rule uses SCMP_ACT_NOTIFY");
    if (sc.errnoRet && !action_takes_errno(sc.action))
      fail(member(path, "errnoRet"), "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    for (size_t a = 0; a < sc.args.size(); ++a) {
      std::string arg = element(member(path, "args"), a);
      // Syscalls have six argument registers.
      if (sc.args[a].index > 5) fail(member(arg, "index"), "must be between 0 and 5, got " + std::to_string(sc.args[a].index));
      check_known(kSeccompOps, sc.args[a].op, member(arg, "op"), "seccomp operator");
    }
  }
}

const LinuxNamespace* find_namespace(const Linux& l, std::string_view type) {
  for (const auto& ns : l.namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

void check_linux(const Linux& l) {
  std::set<std::string> seen;
  for (size_t i = 0; i < l.namespaces.size(); ++i) {
    std::string path = element("linux.namespaces", i);
    const LinuxNamespace& ns = l.namespaces[i];
    check_known(kNamespaces, ns.type, member(path, "type"), "namespace type");
    if (!seen.insert(ns.type).second) fail(member(path, "type"), "duplicate namespace " + show(ns.type));
    if (!ns.path.empty()) check_absolute(ns.path, member(path, "path"));
  }

  const LinuxNamespace* user = find_namespace(l, "user");
  check_id_mappings(l.uidMappings, "linux.uidMappings");
  check_id_mappings(l.gidMappings, "linux.gidMappings");
  if (!user) {
    if (!l.uidMappings.empty()) fail("linux.uidMappings", "requires a user namespace");
    if (!l.gidMappings.empty()) fail("linux.gidMappings", "requires a user namespace");
  } else if (user->path.empty() && l.uidMappings.empty() && l.gidMappings.empty()) {
    // A new user namespace without mappings leaves every ID unmapped: nothing could run.
    fail("linux.uidMappings", "a new user namespace needs uid and gid mappings");
  }

  if (!l.timeOffsets.empty()) {
    const LinuxNamespace* time = find_namespace(l, "time");
    if (!time) fail("linux.timeOffsets", "requires a time namespace");
    // Offsets can only be written before the first process enters the namespace.
    if (!time->path.empty()) fail("linux.timeOffsets", "cannot be applied when joining an existing time namespace");
    for (const auto& [clock, offset] : l.timeOffsets) {
      std::string path = member("linux.timeOffsets", clock);
      if (clock != "monotonic" && clock != "boottime")
        fail(path, "unknown clock " + show(clock) + " (monotonic or boottime)");
      if (offset.nanosecs >= 1'000'000'000) fail(member(path, "nanosecs"), "must be less than 1000000000");
    }
  }

  for (const auto& [key, value] : l.sysctl)
    if (key.empty()) fail(member("linux.sysctl", key), "empty sysctl name");

  if (l.resources) check_resources(*l.resources, "linux.resources");

  for (size_t i = 0; i < l.devices.size(); ++i) {
    std::string path = element("linux.devices", i);
    const LinuxDevice& d = l.devices[i];
    check_absolute(d.path, member(path, "path"));
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
      fail(member(path, "type"), "must be c, b, u or p, got " + show(d.type));
    if (d.type != "p") {
      if (d.major < 0) fail(member(path, "major"), "must not be negative");
      if (d.minor < 0) fail(member(path, "minor"), "must not be negative");
    }
  }

  if (l.seccomp) check_seccomp(*l.seccomp, "linux.seccomp");

  if (!l.rootfsPropagation.empty() && !known(kPropagations, l.rootfsPropagation))
    fail("linux.rootfsPropagation", "unknown propagation " + show(l.rootfsPropagation));

  for (size_t i = 0; i < l.maskedPaths.size(); ++i) check_absolute(l.maskedPaths[i], element("linux.maskedPaths", i));
  for (size_t i = 0; i < l.readonlyPaths.size(); ++i)
    check_absolute(l.readonlyPaths[i], element("linux.readonlyPaths", i));

  if (l.personality && l.personality->domain != "LINUX" && l.personality->domain != "LINUX32")
    fail("linux.personality.domain", "must be LINUX or LINUX32, got " + show(l.personality->domain));
}

void check_spec(const Spec& s) {
  if (s.ociVersion.empty()) fail("ociVersion", "required field missing");
  if (!s.root) fail("root", "required field missing");
  if (s.root->path.empty()) fail("root.path", "required field missing");
  if (s.process) check_process(*s.process, "process");

  // Without a private UTS namespace, setting these would rename the host.
  bool uts = s.linux && find_namespace(*s.linux, "uts");
  if (!s.hostname.empty() && !uts) fail("hostname", "requires a uts namespace");
  if (!s.domainname.empty() && !uts) fail("domainname", "requires a uts namespace");

  for (size_t i = 0; i < s.mounts.size(); ++i) check_mount(s.mounts[i], element("mounts", i));
  if (s.hooks) check_hooks(*s.hooks);
  for (const auto& [key, value] : s.annotations)
    if (key.empty()) fail("annotations", "keys must not be empty");
  if (s.linux) check_linux(*s.linux);
}

}  // namespace

Result<Spec> parse_spec(std::string_view text) {
  return parse_document<Spec>(text, "config.json", [](const Json& j) { return read_spec(j); });
}

Result<Process> parse_process(std::string_view text) {
  return parse_document<Process>(text, "process", [](const Json& j) { return read_process(j, ""); });
}

Result<LinuxResources> parse_resources(std::string_view text) {
  return parse_document<LinuxResources>(text, "resources", [](const Json& j) { return read_resources(j, ""); });
}

Status validate_spec(const Spec& spec) {
  return json_boundary("config.json", [&] { check_spec(spec); });
}

Status validate_process(const Process& process) {
  return json_boundary("process", [&] { check_process(process, ""); });
}

Status validate_resources(const LinuxResources& resources) {
  return json_boundary("resources", [&] { check_resources(resources, ""); });
}

Json to_json(const Spec& spec) {
  Json j = {{"ociVersion", spec.ociVersion}};
  put_opt(j, "process", spec.process, emit_process);
  put_opt(j, "root", spec.root, emit_root);
  put_string(j, "hostname", spec.hostname);
  put_string(j, "domainname", spec.domainname);
  put_each(j, "mounts", spec.mounts, emit_mount);
  put_opt(j, "hooks", spec.hooks, emit_hooks);
  put_map(j, "annotations", spec.annotations);
  put_opt(j, "linux", spec.linux, emit_linux);
  return j;
}

Json to_json(const Process& process) { return emit_process(process); }

Json to_json(const LinuxResources& resources) { return emit_resources(resources); }

std::optional<int> capability_from_name(std::string_view name) {
  auto it = std::find(kCapabilities.begin(), kCapabilities.end(), name);
  if (it == kCapabilities.end()) return std::nullopt;
  return static_cast<int>(it - kCapabilities.begin());
}

std::optional<int> rlimit_from_name(std::string_view name) {
  auto it = std::find(kRlimits.begin(), kRlimits.end(), name);
  if (it == kRlimits.end()) return std::nullopt;
  return static_cast<int>(it - kRlimits.begin());
}

std::string mount_destination(std::string_view destination) {
  if (is_absolute(destination)) return std::string(destination);
  return "/" + std::string(destination);
}

}  // namespace berth::oci
