#include "backends/qemu/kvm_probe.h"

#include <gtest/gtest.h>

namespace berth::qemu {
namespace {

TEST(KvmProbe, AnswersWithoutCrashing) {
  auto probe = probe_kvm();
  // Either answer is fine here; the probe must give a reason for it.
  EXPECT_FALSE(probe.reason.empty());
  std::cout << "KVM usable: " << (probe.usable ? "yes" : "no") << " (" << probe.reason << ")\n";
}

TEST(KvmProbe, MissingDeviceIsUnusable) {
  auto probe = probe_kvm("/nonexistent/kvm");
  EXPECT_FALSE(probe.usable);
  EXPECT_NE(probe.reason.find("/nonexistent/kvm"), std::string::npos);
}

TEST(KvmProbe, NotAKvmDeviceIsUnusable) {
  auto probe = probe_kvm("/dev/null");
  EXPECT_FALSE(probe.usable);
}

}  // namespace
}  // namespace berth::qemu
