// What a VM is, independent of the hypervisor: the backends (QEMU on Linux,
// Virtualization.framework on macOS) turn this into their own configuration.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth {

enum class Arch { amd64, arm64 };
// kvm/tcg for QEMU; vz for Virtualization.framework (which picks its own acceleration).
enum class Accel { kvm, tcg, vz };
enum class VsockMode {
  kernel,     // QEMU vhost-vsock-device on /dev/vhost-vsock; host side is AF_VSOCK
  userspace,  // berth's vhost-user device; host side is a Unix socket with CONNECT
  vz,         // VZVirtioSocketDevice
};

struct VmMountSpec {
  std::string tag;        // virtiofs tag the guest mounts
  std::string host_path;  // shared directory, also the guest path
  bool read_only = false;
  std::string socket;     // virtiofsd's vhost-user socket (QEMU)
};

struct VmSpec {
  std::string name;  // instance name
  Arch arch = Arch::amd64;
  Accel accel = Accel::tcg;
  unsigned cpus = 2;
  uint64_t memory = uint64_t{2} << 30;  // bytes, a whole number of MiB
  std::string kernel;
  std::string initrd;
  // berth's guest parameters (berth.mount=...); the backend adds console and clock ones.
  std::string cmdline;
  std::string disk;  // raw data disk
  std::vector<VmMountSpec> mounts;
  VsockMode vsock = VsockMode::userspace;
  uint32_t guest_cid = 3;
  std::string vsock_socket;  // userspace: the vhost-user socket QEMU connects to
  std::string console_log;   // the guest console goes here
  std::string control_socket;  // QEMU: QMP
};

inline const char* arch_name(Arch a) { return a == Arch::arm64 ? "arm64" : "amd64"; }
inline const char* accel_name(Accel a) {
  switch (a) {
    case Accel::kvm: return "kvm";
    case Accel::tcg: return "tcg";
    case Accel::vz: return "vz";
  }
  return "?";
}

}  // namespace berth
