#include "init/modules.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::agent::init {
namespace {

// The order images/build writes for the cloud kernel (each module after its dependencies).
std::vector<std::string> image_list() {
  std::vector<std::string> out;
  for (const char* m : {"virtio_ring", "virtio", "virtio_mmio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
                        "virtio_pci", "virtio_console", "virtio_blk", "failover", "net_failover", "virtio_net",
                        "virtio-rng", "vsock", "vmw_vsock_virtio_transport_common", "vmw_vsock_virtio_transport",
                        "button", "fuse", "virtiofs", "overlay", "libcrc32c", "bridge", "veth", "nf_tables"})
    out.push_back(std::string("/lib/modules/6.1/kernel/") + m + ".ko");
  return out;
}

std::vector<std::string> names(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) out.push_back(p.substr(p.rfind('/') + 1, p.rfind(".ko") - p.rfind('/') - 1));
  return out;
}

TEST(Modules, EverythingUpToTheLastDeviceModuleLoadsAtBootWithPciAndShares) {
  auto split = split_modules(image_list(), BootDevices{.pci = true, .shares = true});
  EXPECT_EQ(names(split.late), (std::vector<std::string>{"overlay", "libcrc32c", "bridge", "veth", "nf_tables"}));
  EXPECT_EQ(split.boot.size() + split.late.size(), image_list().size());
  EXPECT_EQ(names(split.boot).back(), "virtiofs");
}

TEST(Modules, WithoutPciOrSharesThoseModulesWaitAtTheFrontOfTheLatePart) {
  auto split = split_modules(image_list(), BootDevices{.pci = false, .shares = false});
  auto boot = names(split.boot);
  for (const char* m : {"virtio_pci", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "fuse", "virtiofs"})
    EXPECT_EQ(std::find(boot.begin(), boot.end(), m), boot.end()) << m << " still loads at boot";
  EXPECT_EQ(boot.back(), "button");
  // Same relative order as the list, so dependencies (fuse before virtiofs) still hold.
  EXPECT_EQ(names(split.late), (std::vector<std::string>{"virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                                                         "fuse", "virtiofs", "overlay", "libcrc32c", "bridge", "veth",
                                                         "nf_tables"}));
}

TEST(Modules, ThroughFindsADriverAfterAPosition) {
  auto list = image_list();
  size_t blk = modules_through(list, 0, "virtio_blk");
  EXPECT_EQ(names(list)[blk - 1], "virtio_blk");
  EXPECT_EQ(names(list)[modules_through(list, blk, "virtio_net") - 1], "virtio_net");
  EXPECT_EQ(modules_through(list, blk, "virtio_blk"), blk) << "not found after `from`: from";
  EXPECT_EQ(modules_through({"/m/virtio_blk.ko.xz"}, 0, "virtio_blk"), 1u) << "compressed modules count too";
}

TEST(Modules, AListWithoutDeviceModulesLoadsEverythingLate) {
  std::vector<std::string> list = {"/m/overlay.ko", "/m/bridge.ko"};
  auto split = split_modules(list, BootDevices{});
  EXPECT_TRUE(split.boot.empty());
  EXPECT_EQ(split.late, list);
}

}  // namespace
}  // namespace berth::agent::init
