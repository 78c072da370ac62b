// The control API on vsock port 1024: HTTP/JSON under /berth/v1/, served with the agent's
// HTTP framework (guestagent/http/). The host (vmhost) uses it to learn that the VM is
// ready, sync the clock and shut the VM down.
//
//   GET  /berth/v1/ready     {"ready": true, "protocol": N, "version", "kernel", "boot": timeline,
//                             "warnings": [...]}; served only once boot finished
//   GET  /berth/v1/info      kernel, cpus, memory, mounts, uptime, data disk, shares, network
//   POST /berth/v1/shutdown  stops processes, unmounts, powers off (answers first)
//   POST /berth/v1/time      {"unix_nanos": N} (the host's older spelling "unix_nano" too)
//   GET  /berth/v1/events    a chunked stream of JSON lines ({"seq", "time_ms", "type", ...})
//                            from the moment of connecting; PID 1 publishes only "shutdown"
//                            so far (a stub, but a live one); container and published-port
//                            events are the Docker side's to add
//   POST /berth/v1/debug/exec  test hook, only with berth.debug=1 on the kernel command line:
//                            {"argv": [...], "stdin": "", "timeout_ms": N} →
//                            {"exit_code", "stdout", "stderr"}
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "http/router.h"
#include "init/timeline.h"

namespace berth::agent::init {

struct ControlContext {
  const BootTimeline* timeline = nullptr;
  // What boot found: {"disk": ..., "shares": [...], "network": ..., "modules": ...}.
  Json boot_report = Json::object();
  std::vector<std::string> warnings;
  bool debug = false;
  std::function<void(const std::string& reason)> request_shutdown;

  // What finishes after ready (the container-only modules, the Docker API server start):
  // written and read under late_mu. late_report's keys replace boot_report's in GET
  // /berth/v1/info; late_warnings follow warnings.
  mutable std::mutex late_mu;
  Json late_report = Json::object();
  std::vector<std::string> late_warnings;
  void add_late(const std::function<void(Json& report, std::vector<std::string>& warnings)>& fn) {
    std::lock_guard lock(late_mu);
    fn(late_report, late_warnings);
  }
};

Json ready_json(const ControlContext& ctx);

// The routes above, bound to `ctx` (which must outlive the router).
void add_control_routes(http::Router& router, const ControlContext& ctx);

// Serves `listener` on background threads for the rest of PID 1's life.
Status serve_control_api(UniqueFd listener, std::shared_ptr<const ControlContext> ctx);

}  // namespace berth::agent::init
