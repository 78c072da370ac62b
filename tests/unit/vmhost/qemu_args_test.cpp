#include "backends/qemu/qemu_args.h"

#include <gtest/gtest.h>

namespace berth::qemu {
namespace {

VmSpec amd64_spec() {
  VmSpec s;
  s.name = "default";
  s.arch = Arch::amd64;
  s.accel = Accel::tcg;
  s.cpus = 2;
  s.memory = uint64_t{2} << 30;
  s.kernel = "/img/vmlinuz";
  s.initrd = "/img/initramfs";
  s.cmdline = "berth.mount=berth0:/home/u berth.mount=berth1:/data:ro";
  s.disk = "/i/disk.img";
  s.mounts = {{"berth0", "/home/u", false, "/i/virtiofs-0.sock"}, {"berth1", "/data", true, "/i/virtiofs-1.sock"}};
  s.vsock = VsockMode::userspace;
  s.guest_cid = 3;
  s.vsock_socket = "/i/vhost-vsock.sock";
  s.console_log = "/i/serial.log";
  s.control_socket = "/i/qmp.sock";
  return s;
}

TEST(QemuArgs, Amd64TcgUserspaceVsockExact) {
  QemuHost host{"/usr/bin/qemu-system-x86_64", 2600000};
  std::vector<std::string> expected = {
      "/usr/bin/qemu-system-x86_64",
      "-name", "berth-default",
      "-machine", "microvm,memory-backend=mem",
      "-accel", "tcg",
      "-cpu", "max",
      "-smp", "2",
      "-m", "2048M",
      "-object", "memory-backend-memfd,id=mem,size=2048M,share=on",
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-global", "virtio-mmio.force-legacy=false",
      "-chardev", "file,id=console,path=/i/serial.log",
      "-serial", "chardev:console",
      "-kernel", "/img/vmlinuz",
      "-initrd", "/img/initramfs",
      "-append",
      "console=ttyS0 panic=-1 tsc_early_khz=2600000 tsc=reliable berth.mount=berth0:/home/u "
      "berth.mount=berth1:/data:ro",
      "-object", "rng-random,id=rng,filename=/dev/urandom",
      "-device", "virtio-rng-device,rng=rng",
      "-drive", "id=data,file=/i/disk.img,format=raw,if=none,discard=unmap,detect-zeroes=unmap",
      "-device", "virtio-blk-device,drive=data",
      "-netdev", "user,id=net0",
      "-device", "virtio-net-device,netdev=net0",
      "-chardev", "socket,id=fs0,path=/i/virtiofs-0.sock",
      "-device", "vhost-user-fs-device,chardev=fs0,tag=berth0",
      "-chardev", "socket,id=fs1,path=/i/virtiofs-1.sock",
      "-device", "vhost-user-fs-device,chardev=fs1,tag=berth1",
      "-chardev", "socket,id=vsock,path=/i/vhost-vsock.sock",
      "-device", "vhost-user-vsock-device,chardev=vsock",
      "-chardev", "socket,id=qmp,path=/i/qmp.sock,server=on,wait=off",
      "-mon", "chardev=qmp,mode=control",
  };
  EXPECT_EQ(qemu_argv(amd64_spec(), host), expected);
}

TEST(QemuArgs, KvmUsesHostCpuKernelVsockAndNoClockWorkaround) {
  VmSpec s = amd64_spec();
  s.accel = Accel::kvm;
  s.vsock = VsockMode::kernel;
  s.guest_cid = 1234;
  s.vsock_socket.clear();
  s.mounts.clear();
  s.cmdline.clear();
  auto a = qemu_argv(s, QemuHost{"/q", 2600000});
  auto at = [&](const std::string& flag) {
    for (size_t i = 0; i + 1 < a.size(); ++i) {
      if (a[i] == flag) return a[i + 1];
    }
    return std::string("<missing>");
  };
  EXPECT_EQ(at("-accel"), "kvm");
  EXPECT_EQ(at("-cpu"), "host");
  EXPECT_EQ(at("-append"), "console=ttyS0 panic=-1");
  EXPECT_NE(std::find(a.begin(), a.end(), "vhost-vsock-device,guest-cid=1234"), a.end());
  for (const auto& arg : a) {
    EXPECT_EQ(arg.find("vhost-user-vsock"), std::string::npos) << arg;
    EXPECT_EQ(arg.find("vhost-user-fs"), std::string::npos) << arg;
  }
}

TEST(QemuArgs, Arm64UsesVirtWithPciDevicesAndPl011) {
  VmSpec s = amd64_spec();
  s.arch = Arch::arm64;
  auto a = qemu_argv(s, QemuHost{"/usr/bin/qemu-system-aarch64", 2600000});
  EXPECT_EQ(a[3], "-machine");
  EXPECT_EQ(a[4], "virt,memory-backend=mem");
  EXPECT_EQ(*(std::find(a.begin(), a.end(), "-cpu") + 1), "cortex-a72") << "TCG boots an ARMv8.0 CPU fastest";
  for (const char* dev : {"virtio-rng-pci,rng=rng", "virtio-blk-pci,drive=data", "virtio-net-pci,netdev=net0",
                          "vhost-user-fs-pci,chardev=fs0,tag=berth0", "vhost-user-vsock-pci,chardev=vsock"}) {
    EXPECT_NE(std::find(a.begin(), a.end(), dev), a.end()) << dev;
  }
  // PCI devices need no virtio-mmio global, and the TSC workaround is x86-only.
  EXPECT_EQ(std::find(a.begin(), a.end(), "virtio-mmio.force-legacy=false"), a.end());
  EXPECT_EQ(kernel_cmdline(s, QemuHost{"", 2600000}),
            "console=ttyAMA0 panic=-1 berth.mount=berth0:/home/u berth.mount=berth1:/data:ro");
  EXPECT_EQ(binary_name(Arch::arm64), "qemu-system-aarch64");
  EXPECT_EQ(binary_name(Arch::amd64), "qemu-system-x86_64");
}

TEST(QemuArgs, TcgWithoutKnownTscRateLeavesTheClockAlone) {
  VmSpec s = amd64_spec();
  s.cmdline.clear();
  EXPECT_EQ(kernel_cmdline(s, QemuHost{"", 0}), "console=ttyS0 panic=-1");
}

TEST(QemuArgs, CommasInPathsAreDoubled) {
  EXPECT_EQ(escape_value("/a,b/c,,d"), "/a,,b/c,,,,d");
  VmSpec s = amd64_spec();
  s.disk = "/x,y/disk.img";
  s.console_log = "/x,y/serial.log";
  auto a = qemu_argv(s, QemuHost{"/q", 0});
  EXPECT_NE(std::find(a.begin(), a.end(),
                      "id=data,file=/x,,y/disk.img,format=raw,if=none,discard=unmap,detect-zeroes=unmap"),
            a.end());
  EXPECT_NE(std::find(a.begin(), a.end(), "file,id=console,path=/x,,y/serial.log"), a.end());
}

TEST(QemuArgs, VirtiofsdDebian12Syntax) {
  VmMountSpec m{"berth0", "/home/u", false, "/i/virtiofs-0.sock"};
  std::vector<std::string> expected = {"/usr/lib/qemu/virtiofsd",
                                       "--socket-path=/i/virtiofs-0.sock",
                                       "-o", "source=/home/u",
                                       "-o", "cache=auto",
                                       "-o", "announce_submounts",
                                       "-o", "log_level=warn"};
  EXPECT_EQ(virtiofsd_argv("/usr/lib/qemu/virtiofsd", m), expected);
  m.host_path = "/a,b";
  EXPECT_EQ(virtiofsd_argv("v", m)[3], "source=/a\\,b");
}

}  // namespace
}  // namespace berth::qemu
