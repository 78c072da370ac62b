// A QEMU VM with its helpers: one virtiofsd per mount and, without /dev/vhost-vsock,
// berth's userspace vsock device.
//
// The vsock device runs in the vmhost process on its own thread rather than as a
// berth-vsockd child: its lifetime is exactly the VM's, it has no state worth isolating
// from the vmhost (which is useless without it anyway), and in-process there is no extra
// pid to track, no socket handover and no second log. stop() is thread-safe, so teardown
// is one call and a join.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "backends/qemu/qemu_args.h"
#include "process/child.h"
#include "process/output_log.h"

namespace berth::vsock {
class UserspaceVsock;
}

namespace berth::qemu {

class QemuVm : public backend::Vm {
 public:
  QemuVm(VmSpec spec, QemuHost host, std::string virtiofsd, const instance::Paths& paths,
         std::shared_ptr<spdlog::logger> log);
  ~QemuVm() override;

  Status start() override;
  std::shared_ptr<VsockConnector> connector() override { return connector_; }
  std::optional<process::ExitInfo> exited() override;
  std::optional<std::string> problem() override;
  std::string last_error() override;
  void quit() override;
  void kill() override;
  void cleanup() override;
  std::string describe() const override;
  std::string name() const override { return "QEMU"; }
  const VmSpec& spec() const override { return spec_; }

 private:
  struct Helper {
    std::string what;
    process::Child child;
    std::unique_ptr<process::OutputLog> output;
    std::string pid_file;
    bool reported = false;
    std::optional<std::chrono::steady_clock::time_point> exited_at;
  };

  Status start_vsock_device();
  Status start_virtiofsd(size_t index);
  Status start_qemu();
  Status wait_for_qmp();
  void check_helpers();

  VmSpec spec_;
  QemuHost host_;
  std::string virtiofsd_;
  instance::Paths paths_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<VsockConnector> connector_;
  std::unique_ptr<vsock::UserspaceVsock> vsock_;
  std::thread vsock_thread_;
  std::vector<Helper> virtiofsd_procs_;
  process::Child qemu_;
  std::unique_ptr<process::OutputLog> qemu_output_;
  bool cleaned_ = false;
  std::chrono::steady_clock::time_point next_health_check_{};
};

}  // namespace berth::qemu
