// A berth guest under QEMU for tests: the guest image (built once per build tree), one VM with
// its own berth-vsockd, virtiofsd per share and a QMP socket, and an HTTP client that reaches
// guest vsock ports through berth-vsockd's host socket.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vm_helpers.h"

namespace berth::test::agent {

struct GuestImage {
  std::string kernel, initrd;
  std::string skip;   // why the tests cannot run here (offline, no QEMU, not x86-64)
  std::string error;  // the build failed
};

// Builds (when older than its inputs) and returns the image under BERTH_VM_WORK_DIR/image.
const GuestImage& guest_image();
// The arm64 image `ninja guest-image-arm64` made (cross-compiling berth needs more than a test
// should do, so it is not built here): skip when it is absent, e.g. offline.
const GuestImage& arm64_guest_image();

struct HttpReply {
  int status = 0;
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct VmConfig {
  std::string disk;
  std::string cmdline;                                      // berth.* parameters
  std::vector<std::pair<std::string, std::string>> shares;  // virtiofs tag, host directory
  int memory_mb = 512;
  // amd64: x86-64 microvm with virtio-mmio devices; arm64: qemu-system-aarch64 -M virt
  // (cortex-a72 under TCG) with virtio-pci devices and arm64_guest_image().
  std::string arch = "amd64";
};

class GuestVm {
 public:
  // `dir`: where sockets, console and logs go (kept when a test fails).
  explicit GuestVm(std::string dir);
  ~GuestVm();

  // Starts berth-vsockd, virtiofsd and QEMU; false with `why` set when one does not come up.
  bool start(const VmConfig& config, std::string& why);
  // Polls GET /berth/v1/ready until it answers 200; its body.
  std::optional<nlohmann::json> wait_ready(std::chrono::seconds timeout);
  std::optional<HttpReply> request(uint32_t port, const std::string& method, const std::string& path,
                                   const std::string& body = "", std::chrono::seconds timeout = std::chrono::seconds(60));
  // POST /berth/v1/debug/exec with `sh -c script` (needs berth.debug=1).
  nlohmann::json sh(const std::string& script);
  std::string console() const;
  bool console_has(const std::string& text, std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;
  // QEMU's exit status once it exited within `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void kill_hard();  // SIGKILL QEMU: the power cord
  bool powerdown();  // QMP system_powerdown: the ACPI power button
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<vsock::vmtest::Child> vsockd_, qemu_;
  std::vector<std::unique_ptr<vsock::vmtest::Child>> virtiofsd_;
};

}  // namespace berth::test::agent
