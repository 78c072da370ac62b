// How a VmSpec maps onto Apple Virtualization.framework objects, as plain data: the
// macOS backend (Objective-C++, built only on Apple) walks this description and creates
// the VZ* objects; everything else builds and tests it on any host.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vm_spec.h"

namespace berth::vz {

// One VZ configuration object: its class name and the properties berth sets on it
// (attachments are nested as "attachment" / "share" with their own class name).
struct VzDevice {
  std::string kind;                               // e.g. "VZVirtioBlockDeviceConfiguration"
  std::map<std::string, std::string> properties;  // e.g. {"attachment", "VZDiskImageStorageDeviceAttachment"}

  bool operator==(const VzDevice&) const = default;
};

struct VzConfiguration {
  VzDevice boot_loader;  // VZLinuxBootLoader
  unsigned cpus = 0;
  uint64_t memory = 0;
  std::vector<VzDevice> devices;  // in VZVirtualMachineConfiguration's device lists
};

// The guest kernel's command line under VZ: the console is virtio (hvc0), there is no
// UART, and the TSC workaround is QEMU/TCG-only.
std::string vz_kernel_cmdline(const VmSpec& spec);

VzConfiguration vz_configuration(const VmSpec& spec);

}  // namespace berth::vz
