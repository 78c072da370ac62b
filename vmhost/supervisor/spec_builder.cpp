#include "supervisor/spec_builder.h"

#include <cstdio>

namespace berth::supervisor {

std::string mount_tag(size_t index) { return "berth" + std::to_string(index); }

std::string guest_params(const std::vector<VmMountSpec>& mounts, std::chrono::system_clock::time_point now) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  char time[64];
  std::snprintf(time, sizeof time, "berth.time=%lld.%09lld", static_cast<long long>(ns / 1000000000),
                static_cast<long long>(ns % 1000000000));
  std::string out = time;
  for (const auto& m : mounts) {
    std::string param = "berth.mount=" + m.tag + ":" + m.host_path + (m.read_only ? ":ro" : "");
    if (param.find(' ') != std::string::npos) param = "\"" + param + "\"";
    out += " " + param;
  }
  return out;
}

VmSpec build_spec(const instance::Config& config, const image::GuestImage& image, const instance::Paths& paths,
                  std::chrono::system_clock::time_point now) {
  VmSpec spec;
  spec.name = config.name;
  spec.arch = config.arch == "arm64" ? Arch::arm64 : Arch::amd64;
  spec.cpus = config.cpus;
  spec.memory = config.memory;
  spec.kernel = image.kernel;
  spec.initrd = image.initrd;
  spec.disk = paths.disk();
  spec.console_log = paths.serial_log();
  spec.control_socket = paths.qmp_socket();
  for (size_t i = 0; i < config.mounts.size(); ++i) {
    VmMountSpec m;
    m.tag = mount_tag(i);
    m.host_path = config.mounts[i].path;
    m.read_only = !config.mounts[i].writable;
    m.socket = paths.virtiofs_socket(i);
    spec.mounts.push_back(std::move(m));
  }
  spec.cmdline = guest_params(spec.mounts, now);
  return spec;
}

}  // namespace berth::supervisor
