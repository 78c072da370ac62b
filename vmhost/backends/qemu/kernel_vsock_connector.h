// VsockConnector over the host kernel's AF_VSOCK, for QEMU's vhost-vsock-device.
#pragma once

#include "vsock_connector.h"

namespace berth::qemu {

class KernelVsockConnector : public VsockConnector {
 public:
  explicit KernelVsockConnector(uint32_t guest_cid) : cid_(guest_cid) {}
  Result<UniqueFd> connect(uint32_t port, std::chrono::milliseconds timeout) override;
  std::string describe() const override { return "AF_VSOCK cid " + std::to_string(cid_); }

 private:
  uint32_t cid_;
};

// /dev/vhost-vsock exists and this user may open it.
bool kernel_vsock_usable();

}  // namespace berth::qemu
