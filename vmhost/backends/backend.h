// The VM backend seen from the portable vmhost code: which hypervisor this host uses, what
// it needs installed, and a running VM with its helpers. Implemented per platform
// (backends/qemu on Linux; backends/vz on macOS).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "berth/common/result.h"
#include "instance/paths.h"
#include "process/child.h"
#include "vm_spec.h"
#include "vsock_connector.h"

namespace berth::backend {

// "auto" → this host's default; an unavailable type is an error saying so.
Result<std::string> resolve_vm_type(const std::string& requested);

// Everything the VM needs from the host is installed (QEMU for the architecture,
// virtiofsd when there are mounts); errors say what to install. Runs before `berth start`
// creates anything.
Status check_host(const std::string& vm_type, Arch arch, bool has_mounts);

// Clears what a crashed run left: processes of this instance still alive (recognised by
// their command line) and its runtime files. Only called with the instance lock held.
void clean_stale(const instance::Paths& paths, size_t mounts, const std::shared_ptr<spdlog::logger>& log);

class Vm {
 public:
  virtual ~Vm() = default;
  // Starts helpers (vsock device, virtiofsd) and the VM; returns once the VM process runs.
  virtual Status start() = 0;
  virtual std::shared_ptr<VsockConnector> connector() = 0;
  // Non-blocking: how the VM process ended, once it has.
  virtual std::optional<process::ExitInfo> exited() = 0;
  // A VM that still runs but can no longer make progress (QEMU: paused after a KVM
  // internal error, guest panicked): what went wrong. Rate-limited internally; cheap to call.
  virtual std::optional<std::string> problem() = 0;
  // The VM's last words on stderr, for error messages ("" when none).
  virtual std::string last_error() = 0;
  // Hard stop without the guest's help (QEMU: QMP quit); falls back to SIGKILL.
  virtual void quit() = 0;
  virtual void kill() = 0;
  // After the VM exited: stops the helpers and removes their sockets. Idempotent.
  virtual void cleanup() = 0;
  // "qemu (tcg)", "qemu (kvm)", "vz".
  virtual std::string describe() const = 0;
  // What users know the VM process as, in messages: "QEMU".
  virtual std::string name() const = 0;
  // The spec as finally used (accel, vsock mode chosen by the backend).
  virtual const VmSpec& spec() const = 0;
};

// Completes the spec with the backend's choices (acceleration, vsock transport, guest
// CID, host-specific paths) and prepares a VM; nothing runs until start().
Result<std::unique_ptr<Vm>> create_vm(VmSpec spec, const instance::Paths& paths,
                                      std::shared_ptr<spdlog::logger> log);

}  // namespace berth::backend
