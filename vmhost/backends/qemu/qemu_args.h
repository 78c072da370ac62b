// QEMU and virtiofsd command lines from a VmSpec. Pure functions: no probing, no files,
// so that tests pin down every argument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vm_spec.h"

namespace berth::qemu {

// Facts about the host that the command line depends on, found by the caller.
struct QemuHost {
  std::string binary;    // absolute path of qemu-system-*
  long tsc_khz = 0;      // host TSC rate for x86 guests under TCG; 0: unknown
};

// "qemu-system-x86_64" / "qemu-system-aarch64".
std::string binary_name(Arch arch);

// QEMU's option syntax splits on commas; a literal comma in a value is written twice.
std::string escape_value(std::string_view value);

// The guest kernel's command line: console, panic behaviour, the TCG clock workaround for
// x86, then spec.cmdline (berth's own parameters).
std::string kernel_cmdline(const VmSpec& spec, const QemuHost& host);

std::vector<std::string> qemu_argv(const VmSpec& spec, const QemuHost& host);

// Debian 12's C virtiofsd: `virtiofsd --socket-path=S -o source=DIR -o cache=auto ...`.
std::vector<std::string> virtiofsd_argv(const std::string& binary, const VmMountSpec& mount);

}  // namespace berth::qemu
