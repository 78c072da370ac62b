// Whether KVM actually runs guests here. /dev/kvm existing is not enough: nested or
// restricted hosts accept KVM_CREATE_VM and then fail every KVM_RUN (e.g. with an
// emulation error). The probe runs a one-instruction real-mode guest (HLT) and wants the
// HLT exit back; anything else means QEMU must use TCG.
#pragma once

#include <string>

namespace berth::qemu {

struct KvmProbe {
  bool usable = false;
  std::string reason;  // why not, or what worked
};

// Never throws or crashes; takes a few milliseconds.
KvmProbe probe_kvm(const std::string& device = "/dev/kvm");

}  // namespace berth::qemu
