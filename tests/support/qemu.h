// QEMU command lines for VM tests: an x86-64 microvm that boots a kernel and initramfs
// directly, with the console on the emulated serial port (ttyS0), which works from the
// first kernel message on (virtio-console is a module in Debian's cloud kernel).
//
//   MicroVm vm;
//   vm.kernel = k;
//   vm.initrd = i;
//   auto r = run_vm(microvm_argv(find_program("qemu-system-x86_64"), vm), 60);
//   EXPECT_TRUE(r.powered_off());
#pragma once

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "backends/qemu/host_tsc.h"
#include "process.h"

namespace berth::test {

// Absolute path of an executable found in $PATH, or "".
inline std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// The host's TSC rate in kHz, measured once; 0 on hosts without a TSC.
//
// Why: under TCG the guest's RDTSC returns the host's TSC, and the kernel calibrates it
// against the emulated PIT. On a loaded host the vCPU thread is descheduled during that
// calibration, it fails, the kernel marks the TSC unstable, and (microvm has no HPET or
// ACPI PM timer to fall back on) boot hangs before userspace. Telling the kernel the rate
// with tsc_early_khz= skips the calibration; tsc=reliable keeps the jiffies-based
// watchdog, which TCG makes just as jittery, from throwing the TSC out later.
inline long host_tsc_khz() {
  // Measured the way the QEMU backend does it (one definition), once per test process.
  static const long khz = qemu::host_tsc_khz();
  return khz;
}

struct MicroVm {
  std::string kernel;
  std::string initrd;
  std::string cmdline;               // appended to the defaults (console, panic, TSC)
  int memory_mb = 256;
  std::vector<std::string> disks;    // raw images, attached as virtio-blk: /dev/vda, vdb, ...
  std::vector<std::string> extra;    // more QEMU arguments
  bool tcg = true;                   // KVM is not usable on every test host
};

// The kernel command line microvm_argv() uses.
inline std::string microvm_cmdline(const MicroVm& vm) {
  // panic=-1 with QEMU's -no-reboot: a guest panic ends QEMU at once instead of at the
  // test's timeout.
  std::string cmdline = "console=ttyS0 panic=-1";
  if (vm.tcg && host_tsc_khz() > 0) {
    cmdline += " tsc_early_khz=" + std::to_string(host_tsc_khz()) + " tsc=reliable";
  }
  if (!vm.cmdline.empty()) cmdline += " " + vm.cmdline;
  return cmdline;
}

inline std::vector<std::string> microvm_argv(const std::string& qemu, const MicroVm& vm) {
  std::vector<std::string> argv = {
      qemu, "-M", std::string("microvm,accel=") + (vm.tcg ? "tcg" : "kvm"), "-m", std::to_string(vm.memory_mb),
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      // Modern virtio-mmio: vhost-user devices require it, so every VM test uses it.
      "-global", "virtio-mmio.force-legacy=false",
      "-serial", "stdio", "-kernel", vm.kernel, "-initrd", vm.initrd, "-append", microvm_cmdline(vm)};
  for (size_t i = 0; i < vm.disks.size(); ++i) {
    std::string id = "disk" + std::to_string(i);
    argv.insert(argv.end(), {"-drive", "id=" + id + ",file=" + vm.disks[i] + ",format=raw,if=none",
                             "-device", "virtio-blk-device,drive=" + id});
  }
  argv.insert(argv.end(), vm.extra.begin(), vm.extra.end());
  return argv;
}

struct VmRun {
  int status = -1;       // QEMU's exit status
  bool timed_out = false;
  double seconds = 0;    // wall time from start to QEMU's exit
  std::string console;   // the guest's serial console
  std::string err;       // QEMU's stderr

  // The kernel prints this (at emergency level, so even with "quiet") right before it
  // turns the machine off; QEMU exiting alone could also be a reset.
  bool powered_off() const {
    return !timed_out && status == 0 && console.find("reboot: Power down") != std::string::npos;
  }
};

// Runs QEMU to completion (the guest powers off) or until timeout_s, then kills it.
inline VmRun run_vm(const std::vector<std::string>& argv, int timeout_s) {
  auto start = std::chrono::steady_clock::now();
  CommandResult r = run(argv, "", timeout_s);
  VmRun vm;
  vm.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  vm.status = r.status;
  vm.console = std::move(r.out);
  vm.timed_out = r.err.find("[test harness: command timed out]") != std::string::npos;
  vm.err = std::move(r.err);
  return vm;
}

}  // namespace berth::test
