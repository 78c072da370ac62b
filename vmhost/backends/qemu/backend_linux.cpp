// backends/backend.h on Linux: QEMU, with KVM when it works and TCG otherwise.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "backends/backend.h"
#include "backends/platform.h"
#include "backends/qemu/host_tsc.h"
#include "backends/qemu/kernel_vsock_connector.h"
#include "backends/qemu/kvm_probe.h"
#include "backends/qemu/qemu_args.h"
#include "backends/qemu/qemu_vm.h"
#include "berth/common/fs.h"
#include "instance/config.h"
#include "instance/pid_file.h"

namespace berth::backend {

namespace {

// Debian 12 ships the C virtiofsd inside QEMU's package; newer systems have the Rust one
// in /usr/libexec or on PATH.
std::string find_virtiofsd() {
  if (const char* env = std::getenv("BERTH_VIRTIOFSD"); env && *env) return process::find_program(env);
  for (const char* p : {"/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd", "/usr/lib/virtiofsd"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return process::find_program("virtiofsd");
}

std::string qemu_package(Arch arch) { return arch == Arch::arm64 ? "qemu-system-arm" : "qemu-system-x86"; }

void kill_if_ours(const std::string& pid_file, const std::string& marker, const std::string& what,
                  const std::shared_ptr<spdlog::logger>& log) {
  auto pid = instance::read_pid_file(pid_file);
  if (!pid || !instance::process_alive(*pid) || !platform::process_cmdline_contains(*pid, marker)) return;
  log->warn("killing {} (pid {}) left over from a previous run", what, *pid);
  ::kill(*pid, SIGKILL);
  for (int i = 0; i < 100 && instance::process_alive(*pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

Result<std::string> resolve_vm_type(const std::string& requested) {
  if (requested == "auto" || requested == "qemu") return std::string("qemu");
  if (requested == "vz") {
    return make_error(Errc::unsupported, "--vm-type vz needs macOS (Virtualization.framework); use qemu on Linux");
  }
  return make_error(Errc::invalid_argument, "unknown --vm-type \"" + requested + "\" (auto, qemu or vz)");
}

Status check_host(const std::string& vm_type, Arch arch, bool has_mounts) {
  BERTH_TRY(resolve_vm_type(vm_type));
  std::string qemu = qemu::binary_name(arch);
  if (process::find_program(qemu).empty()) {
    return make_error(Errc::not_found, qemu + " is not installed (not found in PATH); install QEMU (Debian/Ubuntu: "
                                           "apt install " + qemu_package(arch) + ")");
  }
  if (has_mounts && find_virtiofsd().empty()) {
    return make_error(Errc::not_found,
                      "virtiofsd is not installed (looked in /usr/lib/qemu, /usr/libexec and PATH; set BERTH_VIRTIOFSD); "
                      "install it (Debian 12: it comes with qemu-system-common) or start without --mount");
  }
  return ok();
}

void clean_stale(const instance::Paths& paths, size_t mounts, const std::shared_ptr<spdlog::logger>& log) {
  // QEMU and virtiofsd die with the vmhost (PDEATHSIG); these only catch what survived.
  kill_if_ours(paths.qemu_pid(), paths.qmp_socket(), "QEMU", log);
  for (size_t i = 0; i < mounts; ++i) kill_if_ours(paths.virtiofs_pid(i), "virtiofsd", "virtiofsd", log);
  for (const auto& f : paths.runtime_files(mounts)) ::unlink(f.c_str());
}

Result<std::unique_ptr<Vm>> create_vm(VmSpec spec, const instance::Paths& paths, std::shared_ptr<spdlog::logger> log) {
  qemu::QemuHost host;
  host.binary = process::find_program(qemu::binary_name(spec.arch));
  if (host.binary.empty()) return make_error(Errc::not_found, qemu::binary_name(spec.arch) + " is not installed");
  std::string virtiofsd;
  if (!spec.mounts.empty()) {
    virtiofsd = find_virtiofsd();
    if (virtiofsd.empty()) return make_error(Errc::not_found, "virtiofsd is not installed");
  }

  // KVM only runs guests of the host's own architecture, and only when it really works.
  spec.accel = Accel::tcg;
  const char* forced = std::getenv("BERTH_QEMU_ACCEL");
  if (forced && std::string(forced) == "tcg") {
    log->info("[{}] BERTH_QEMU_ACCEL=tcg: not using KVM", spec.name);
  } else if (instance::host_arch() == arch_name(spec.arch)) {
    auto kvm = qemu::probe_kvm();
    if (kvm.usable) {
      spec.accel = Accel::kvm;
    } else {
      log->warn("[{}] KVM is not usable ({}); using TCG, which is much slower", spec.name, kvm.reason);
    }
  }
  if (spec.accel == Accel::tcg && spec.arch == Arch::amd64) host.tsc_khz = qemu::host_tsc_khz();

  if (qemu::kernel_vsock_usable()) {
    spec.vsock = VsockMode::kernel;
    // Kernel vsock CIDs are global to the host: derive one per instance directory (3 and
    // up; below 2^31 to stay clear of special values).
    spec.guest_cid = 3 + static_cast<uint32_t>(std::hash<std::string>{}(paths.dir()) % 0x7ffffff0u);
  } else {
    spec.vsock = VsockMode::userspace;
    spec.guest_cid = 3;
    spec.vsock_socket = paths.vhost_vsock_socket();
  }
  log->info("[{}] {} guest, {} CPUs, {} MiB, accel {}, vsock {}", spec.name, arch_name(spec.arch), spec.cpus,
            spec.memory >> 20, accel_name(spec.accel), spec.vsock == VsockMode::kernel ? "kernel" : "userspace");
  return std::unique_ptr<Vm>(
      std::make_unique<qemu::QemuVm>(std::move(spec), std::move(host), std::move(virtiofsd), paths, std::move(log)));
}

}  // namespace berth::backend
