#include "backends/vz/vz_devices.h"

namespace berth::vz {

std::string vz_kernel_cmdline(const VmSpec& spec) {
  std::string cmdline = "console=hvc0 panic=-1";
  if (!spec.cmdline.empty()) cmdline += " " + spec.cmdline;
  return cmdline;
}

VzConfiguration vz_configuration(const VmSpec& spec) {
  VzConfiguration c;
  c.cpus = spec.cpus;
  c.memory = spec.memory;
  // VZLinuxBootLoader wants an uncompressed arm64 kernel (images/build's "Image").
  c.boot_loader = {"VZLinuxBootLoader",
                   {{"kernelURL", spec.kernel}, {"initialRamdiskURL", spec.initrd},
                    {"commandLine", vz_kernel_cmdline(spec)}}};
  c.devices.push_back({"VZVirtioConsoleDeviceSerialPortConfiguration",
                       {{"attachment", "VZFileSerialPortAttachment"}, {"url", spec.console_log}, {"append", "false"}}});
  c.devices.push_back({"VZVirtioEntropyDeviceConfiguration", {}});
  c.devices.push_back({"VZVirtioBlockDeviceConfiguration",
                       {{"attachment", "VZDiskImageStorageDeviceAttachment"}, {"url", spec.disk}, {"readOnly", "false"}}});
  c.devices.push_back({"VZVirtioNetworkDeviceConfiguration", {{"attachment", "VZNATNetworkDeviceAttachment"}}});
  for (const auto& m : spec.mounts) {
    c.devices.push_back({"VZVirtioFileSystemDeviceConfiguration",
                         {{"tag", m.tag},
                          {"share", "VZSingleDirectoryShare"},
                          {"directory", m.host_path},
                          {"readOnly", m.read_only ? "true" : "false"}}});
  }
  // Host side through VZVirtioSocketDevice connectToPort: (the VZ VsockConnector).
  c.devices.push_back({"VZVirtioSocketDeviceConfiguration", {}});
  c.devices.push_back({"VZVirtioTraditionalMemoryBalloonDeviceConfiguration", {}});
  return c;
}

}  // namespace berth::vz
