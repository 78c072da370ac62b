#include "backends/vz/vz_devices.h"

#include <gtest/gtest.h>

namespace berth::vz {
namespace {

TEST(VzDevices, MapsTheSpecOntoVirtualizationFramework) {
  VmSpec s;
  s.name = "default";
  s.arch = Arch::arm64;
  s.accel = Accel::vz;
  s.vsock = VsockMode::vz;
  s.cpus = 4;
  s.memory = uint64_t{4} << 30;
  s.kernel = "/img/Image";
  s.initrd = "/img/initramfs";
  s.cmdline = "berth.mount=berth0:/Users/u";
  s.disk = "/i/disk.img";
  s.console_log = "/i/serial.log";
  s.mounts = {{"berth0", "/Users/u", false, ""}, {"berth1", "/opt/ro", true, ""}};

  VzConfiguration c = vz_configuration(s);
  EXPECT_EQ(c.cpus, 4u);
  EXPECT_EQ(c.memory, uint64_t{4} << 30);
  EXPECT_EQ(c.boot_loader, (VzDevice{"VZLinuxBootLoader",
                                     {{"kernelURL", "/img/Image"},
                                      {"initialRamdiskURL", "/img/initramfs"},
                                      {"commandLine", "console=hvc0 panic=-1 berth.mount=berth0:/Users/u"}}}));
  std::vector<VzDevice> expected = {
      {"VZVirtioConsoleDeviceSerialPortConfiguration",
       {{"attachment", "VZFileSerialPortAttachment"}, {"url", "/i/serial.log"}, {"append", "false"}}},
      {"VZVirtioEntropyDeviceConfiguration", {}},
      {"VZVirtioBlockDeviceConfiguration",
       {{"attachment", "VZDiskImageStorageDeviceAttachment"}, {"url", "/i/disk.img"}, {"readOnly", "false"}}},
      {"VZVirtioNetworkDeviceConfiguration", {{"attachment", "VZNATNetworkDeviceAttachment"}}},
      {"VZVirtioFileSystemDeviceConfiguration",
       {{"tag", "berth0"}, {"share", "VZSingleDirectoryShare"}, {"directory", "/Users/u"}, {"readOnly", "false"}}},
      {"VZVirtioFileSystemDeviceConfiguration",
       {{"tag", "berth1"}, {"share", "VZSingleDirectoryShare"}, {"directory", "/opt/ro"}, {"readOnly", "true"}}},
      {"VZVirtioSocketDeviceConfiguration", {}},
      {"VZVirtioTraditionalMemoryBalloonDeviceConfiguration", {}},
  };
  EXPECT_EQ(c.devices, expected);
}

TEST(VzDevices, NoMountsNoFileSystemDevices) {
  VmSpec s;
  auto c = vz_configuration(s);
  for (const auto& d : c.devices) EXPECT_NE(d.kind, "VZVirtioFileSystemDeviceConfiguration");
  EXPECT_EQ(vz_kernel_cmdline(s), "console=hvc0 panic=-1");
}

}  // namespace
}  // namespace berth::vz
