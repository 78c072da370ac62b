// Loading the kernel modules images/build lists in /etc/berth/modules.load (absolute .ko
// paths, each after its dependencies) with finit_module(2): no modprobe, no modules.dep
// parsing at boot.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "berth/common/result.h"

namespace berth::agent::init {

struct ModuleReport {
  int loaded = 0;
  int already = 0;  // EEXIST: loaded before us (or built in under another name)
  int64_t removed_bytes = 0;  // module files deleted after loading (remove_loaded)
  std::vector<std::string> failures;  // "/lib/modules/.../x.ko: Unknown symbol in module"
  std::vector<std::pair<std::string, int64_t>> times;  // module file name → ms, in load order
  // "bridge.ko 58 ms, nf_tables.ko 40 ms, ...": the `count` slowest, for the console.
  std::string slowest(size_t count) const;
};

// Reads the list (one path per line; blank lines and '#' comments skipped).
Result<std::vector<std::string>> read_module_list(const std::string& path);

// Loads them in order. A module that fails is reported and the rest are still tried:
// most of berth works without, say, br_netfilter.
// With remove_loaded, the file of each module that is now in the kernel (loaded, or
// EEXIST) is deleted: the initramfs is the root file system and lives in RAM, and a module
// is never loaded twice. Files of modules that failed stay for a retry by hand.
ModuleReport load_modules(const std::vector<std::string>& paths, bool remove_loaded = false);

// Where the list splits into what boot waits for and what only containers need. Boot needs
// the devices (virtio transports, block, net, vsock, virtiofs, entropy) and the power
// button; overlay, bridge, veth and netfilter are needed only once a container starts, so
// they load on a thread while the disk and the network come up. The split is after the last
// boot module, so every module still loads after everything listed before it (images/build
// lists each module after its dependencies and the device modules first).
size_t boot_module_count(const std::vector<std::string>& paths);

// The position just after `driver` (a module name such as "virtio_blk") in `paths`, looking
// from `from`: loading paths[from, result) gets it in. `from` when it is not there (built in,
// or a list without it).
size_t modules_through(const std::vector<std::string>& paths, size_t from, const std::string& driver);

// What this machine and boot have, to leave out device modules boot would load for nothing.
struct BootDevices {
  bool pci = true;     // a PCI bus with devices (arm64 virt has one; x86 microvm has none)
  bool shares = true;  // berth.mount= entries on the command line (virtiofs)
};
// Looks at /sys/bus/pci/devices; `shares` is the caller's (the command line).
BootDevices probe_boot_devices(bool shares);

struct ModuleSplit {
  std::vector<std::string> boot;  // loaded before ready
  std::vector<std::string> late;  // on the idle thread, after everything in `boot`
};
// boot_module_count's split, with the virtio PCI transport moved to the front of the late
// part when there is no PCI bus, and fuse/virtiofs when there are no shares: each is ~15-40 ms
// under TCG. Both groups are leaves (nothing boot loads depends on them), and they keep their
// order, so every module still loads after its dependencies.
ModuleSplit split_modules(const std::vector<std::string>& paths, const BootDevices& devices);

}  // namespace berth::agent::init
