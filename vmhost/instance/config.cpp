#include "instance/config.h"

#include <sys/utsname.h>

#include "berth/common/fs.h"
#include "berth/common/json.h"
#include "instance/name.h"
#include "instance/size.h"

namespace berth::instance {

std::string host_arch() {
  utsname u{};
  if (::uname(&u) == 0) {
    std::string m = u.machine;
    if (m == "aarch64" || m == "arm64") return "arm64";
  }
  return "amd64";
}

Status validate_arch(const std::string& arch) {
  if (arch == "amd64" || arch == "arm64") return ok();
  return make_error(Errc::invalid_argument, "arch: \"" + arch + "\" is not one of amd64, arm64");
}

Status validate_vm_type(const std::string& vm_type) {
  if (vm_type == "auto" || vm_type == "qemu" || vm_type == "vz") return ok();
  return make_error(Errc::invalid_argument, "vm_type: \"" + vm_type + "\" is not one of auto, qemu, vz");
}

Config default_config(const std::string& name, const std::string& home) {
  Config c;
  c.name = name;
  c.arch = host_arch();
  if (!home.empty() && home != "/") c.mounts.push_back(Mount{home, true});
  return c;
}

Status validate(const Config& c) {
  BERTH_TRY(validate_name(c.name));
  BERTH_TRY(validate_arch(c.arch));
  BERTH_TRY(validate_vm_type(c.vm_type));
  if (c.cpus < 1 || c.cpus > kMaxCpus) {
    return make_error(Errc::invalid_argument,
                      "cpus: " + std::to_string(c.cpus) + " is out of range (1.." + std::to_string(kMaxCpus) + ")");
  }
  if (c.memory < kMinMemory) {
    return make_error(Errc::invalid_argument, "memory: " + format_size(c.memory) + " is less than the minimum " +
                                                  format_size(kMinMemory) + " (did you forget a unit, as in 2G?)");
  }
  // QEMU sizes guest RAM in whole MiB.
  if (c.memory % (uint64_t{1} << 20) != 0) {
    return make_error(Errc::invalid_argument, "memory: " + format_size(c.memory) + " is not a whole number of MiB");
  }
  if (c.disk < kMinDisk) {
    return make_error(Errc::invalid_argument, "disk: " + format_size(c.disk) + " is less than the minimum " +
                                                  format_size(kMinDisk));
  }
  if (c.disk % (uint64_t{1} << 20) != 0) {
    return make_error(Errc::invalid_argument, "disk: " + format_size(c.disk) + " is not a whole number of MiB");
  }
  for (const auto& m : c.mounts) {
    if (m.path.empty() || m.path.front() != '/') {
      return make_error(Errc::invalid_argument, "mounts: \"" + m.path + "\" is not an absolute path");
    }
  }
  return check_mount_list(c.mounts);
}

Result<Config> apply_overrides(Config c, const Overrides& o, bool existing) {
  if (o.arch) {
    BERTH_TRY(validate_arch(*o.arch));
    if (existing && *o.arch != c.arch) {
      return make_error(Errc::conflict, "instance " + c.name + " was created for " + c.arch +
                                            "; delete it (berth delete " + c.name + ") to change the architecture");
    }
    c.arch = *o.arch;
  }
  if (o.vm_type) c.vm_type = *o.vm_type;
  if (o.cpus) c.cpus = *o.cpus;
  if (o.memory) c.memory = *o.memory;
  if (o.disk) {
    if (existing && *o.disk < c.disk) {
      return make_error(Errc::conflict, "--disk " + format_size(*o.disk) + " is smaller than instance " + c.name +
                                            "'s disk (" + format_size(c.disk) + "); disks can grow but not shrink");
    }
    c.disk = *o.disk;
  }
  if (o.mounts) c.mounts = *o.mounts;
  BERTH_TRY(validate(c));
  return c;
}

std::string to_json(const Config& c) {
  OrderedJson j;
  j["schema"] = c.schema;
  j["name"] = c.name;
  j["arch"] = c.arch;
  j["vm_type"] = c.vm_type;
  j["cpus"] = c.cpus;
  j["memory"] = format_size(c.memory);
  j["disk"] = format_size(c.disk);
  j["mounts"] = OrderedJson::array();
  for (const auto& m : c.mounts) j["mounts"].push_back({{"path", m.path}, {"writable", m.writable}});
  return j.dump(2) + "\n";
}

namespace {

// Sizes are written as "2GiB" but a hand-edited number of bytes is fine too.
uint64_t size_field(const Json& object, const char* key, uint64_t fallback) {
  const Json* v = jsonf::find(object, key);
  if (!v) return fallback;
  if (v->is_number_unsigned()) return v->get<uint64_t>();
  std::string text = jsonf::get_string(*v, key);
  auto parsed = parse_size(text, key);
  if (!parsed) throw JsonFieldError(key, "cannot parse size \"" + text + "\"");
  return *parsed;
}

const Json& required(const Json& object, const char* key, const std::string& path) {
  const Json* v = jsonf::find(object, key);
  if (!v) throw JsonFieldError(path, "missing");
  return *v;
}

}  // namespace

Result<Config> from_json(std::string_view text) {
  Json j = BERTH_TRY(parse_json(text, "config.json"));
  auto parsed = json_boundary("config.json", [&] {
    if (!j.is_object()) throw JsonFieldError("(top level)", "expected an object");
    Config c;
    if (auto schema = jsonf::opt_int(j, "schema", "schema"); schema && *schema != 1) {
      throw JsonFieldError("schema", "unsupported version " + std::to_string(*schema));
    }
    c.name = jsonf::get_string(required(j, "name", "name"), "name");
    c.arch = jsonf::opt_string(j, "arch", "arch").value_or(host_arch());
    c.vm_type = jsonf::opt_string(j, "vm_type", "vm_type").value_or("auto");
    if (auto cpus = jsonf::opt_uint(j, "cpus", "cpus")) {
      if (*cpus > kMaxCpus) throw JsonFieldError("cpus", std::to_string(*cpus) + " is out of range");
      c.cpus = static_cast<unsigned>(*cpus);
    }
    c.memory = size_field(j, "memory", kDefaultMemory);
    c.disk = size_field(j, "disk", kDefaultDisk);
    if (const Json* mounts = jsonf::find(j, "mounts")) {
      const Json& list = jsonf::get_array(*mounts, "mounts");
      for (size_t i = 0; i < list.size(); ++i) {
        std::string where = "mounts[" + std::to_string(i) + "]";
        const Json& m = jsonf::get_object(list[i], where);
        Mount mount;
        mount.path = jsonf::get_string(required(m, "path", where + ".path"), where + ".path");
        mount.writable = jsonf::opt_bool(m, "writable", where + ".writable").value_or(true);
        c.mounts.push_back(std::move(mount));
      }
    }
    return c;
  });
  if (!parsed) return parsed;
  if (auto st = validate(*parsed); !st) return tl::unexpected(std::move(st.error()).context("config.json"));
  return parsed;
}

Result<Config> load(const std::string& path) {
  std::string text = BERTH_TRY(fs::read_file(path));
  auto c = from_json(text);
  if (!c) return tl::unexpected(std::move(c.error()).context(path));
  return c;
}

Status save(const std::string& path, const Config& config) { return fs::write_file_atomic(path, to_json(config), 0644); }

}  // namespace berth::instance
