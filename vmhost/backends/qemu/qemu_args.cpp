#include "backends/qemu/qemu_args.h"

namespace berth::qemu {

namespace {

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + "M"; }

// microvm has only virtio-mmio; -M virt uses PCI, where the same devices end in "-pci".
std::string device(const VmSpec& spec, const std::string& mmio_name) {
  if (spec.arch == Arch::amd64) return mmio_name;
  std::string base = mmio_name;
  const std::string suffix = "-device";
  if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
    base.erase(base.size() - suffix.size());
  }
  return base + "-pci";
}

std::string fuse_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string binary_name(Arch arch) { return arch == Arch::arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64"; }

std::string escape_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

std::string kernel_cmdline(const VmSpec& spec, const QemuHost& host) {
  // The 8250 UART (microvm) and PL011 (virt) work from the first kernel message on;
  // virtio-console is a module in Debian's cloud kernel and would miss early boot.
  std::string cmdline = spec.arch == Arch::arm64 ? "console=ttyAMA0" : "console=ttyS0";
  // With -no-reboot a guest panic ends QEMU at once, and the vmhost reports it.
  cmdline += " panic=-1";
  if (spec.arch == Arch::amd64 && spec.accel == Accel::tcg && host.tsc_khz > 0) {
    // Under TCG, RDTSC returns the host's TSC and the kernel calibrates it against the
    // emulated PIT; on a loaded host the vCPU thread is descheduled during calibration,
    // the TSC is declared unstable and microvm (no HPET, no PM timer) hangs at boot. The
    // stated rate skips calibration; tsc=reliable keeps the watchdog, just as jittery
    // under TCG, from discarding the TSC later.
    cmdline += " tsc_early_khz=" + std::to_string(host.tsc_khz) + " tsc=reliable";
  }
  if (!spec.cmdline.empty()) cmdline += " " + spec.cmdline;
  return cmdline;
}

std::vector<std::string> qemu_argv(const VmSpec& spec, const QemuHost& host) {
  bool x86 = spec.arch == Arch::amd64;
  std::vector<std::string> a = {host.binary};
  auto add = [&](std::initializer_list<std::string> args) { a.insert(a.end(), args); };

  add({"-name", "berth-" + spec.name});
  // Guest RAM is a shared memfd: vhost-user back-ends (virtiofsd, berth's vsock device)
  // map it to reach the virtqueues and buffers.
  add({"-machine", std::string(x86 ? "microvm" : "virt") + ",memory-backend=mem"});
  add({"-accel", spec.accel == Accel::kvm ? "kvm" : "tcg"});
  // arm64 under TCG: "max" emulates pointer authentication (QARMA) and SVE, which cost
  // boot time; the Cortex-A72 (ARMv8.0, Debian's arm64 baseline) booted the guest to ready
  // in 3.1 s where "max,pauth-impdef=on" took 4.6 s.
  add({"-cpu", spec.accel == Accel::kvm ? "host" : x86 ? "max" : "cortex-a72"});
  add({"-smp", std::to_string(spec.cpus)});
  add({"-m", mib(spec.memory)});
  add({"-object", "memory-backend-memfd,id=mem,size=" + mib(spec.memory) + ",share=on"});
  add({"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"});
  // vhost-user devices on virtio-mmio need the modern (virtio 1.0) transport.
  if (x86) add({"-global", "virtio-mmio.force-legacy=false"});

  add({"-chardev", "file,id=console,path=" + escape_value(spec.console_log)});
  add({"-serial", "chardev:console"});
  add({"-kernel", spec.kernel, "-initrd", spec.initrd, "-append", kernel_cmdline(spec, host)});

  add({"-object", "rng-random,id=rng,filename=/dev/urandom"});
  add({"-device", device(spec, "virtio-rng-device") + ",rng=rng"});

  // Sparse raw image; the guest's discards punch holes back into it.
  add({"-drive", "id=data,file=" + escape_value(spec.disk) + ",format=raw,if=none,discard=unmap,detect-zeroes=unmap"});
  add({"-device", device(spec, "virtio-blk-device") + ",drive=data"});

  add({"-netdev", "user,id=net0"});
  add({"-device", device(spec, "virtio-net-device") + ",netdev=net0"});

  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    std::string id = "fs" + std::to_string(i);
    add({"-chardev", "socket,id=" + id + ",path=" + escape_value(m.socket)});
    add({"-device", device(spec, "vhost-user-fs-device") + ",chardev=" + id + ",tag=" + m.tag});
  }

  if (spec.vsock == VsockMode::kernel) {
    add({"-device", device(spec, "vhost-vsock-device") + ",guest-cid=" + std::to_string(spec.guest_cid)});
  } else {
    add({"-chardev", "socket,id=vsock,path=" + escape_value(spec.vsock_socket)});
    add({"-device", device(spec, "vhost-user-vsock-device") + ",chardev=vsock"});
  }

  add({"-chardev", "socket,id=qmp,path=" + escape_value(spec.control_socket) + ",server=on,wait=off"});
  add({"-mon", "chardev=qmp,mode=control"});
  return a;
}

std::vector<std::string> virtiofsd_argv(const std::string& binary, const VmMountSpec& mount) {
  return {binary,
          "--socket-path=" + mount.socket,
          // virtiofsd splits -o on commas (libfuse option syntax: a literal one is "\\,").
          "-o", "source=" + fuse_escape(mount.host_path),
          "-o", "cache=auto",
          // Folders with mount points under them (e.g. a home with /home/x/mnt/...) show
          // the submounts as separate filesystems instead of confusing inode numbers.
          "-o", "announce_submounts",
          "-o", "log_level=warn"};
}

}  // namespace berth::qemu
