#include "vm_mode.h"

#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

#include "api/agent.h"
#include "core/process.h"
#include "http/listener.h"
#include "image/rootfs.h"
#include "init/console.h"
#include "init/data_disk.h"

namespace berth::agent {

namespace {

// Where the guest image puts them (images/README.md).
constexpr const char* kRuntime = "/usr/bin/berth-runtime";
constexpr const char* kShim = "/usr/bin/berth-shim";
// init/ writes it when the root could not be made pivot_root-able (init/system_mounts.h).
constexpr const char* kNoPivotMarker = "/run/berth/rootfs-no-pivot";

// The Agent lives as long as PID 1; the shutdown hook reaches it here.
Agent* g_agent = nullptr;

Status serve_docker_api(UniqueFd fd, std::shared_future<void> container_modules) {
  // Until overlay is loaded, a rootfs mount would fall back to copying the image.
  image::set_rootfs_gate([container_modules] { container_modules.wait(); });
  AgentOptions o;
  o.state_root = init::kDataMount;
  o.runtime_bin = kRuntime;
  o.shim_bin = kShim;
  o.native = false;
  o.no_pivot = ::access(kNoPivotMarker, F_OK) == 0;
  auto agent = BERTH_TRY(Agent::create(o));
  auto listener = BERTH_TRY(http::adopt_listener(std::move(fd), "vsock:2375"));
  BERTH_TRY(agent->listen(std::move(listener)));
  g_agent = agent.release();
  std::thread([] {
    if (auto st = g_agent->run(); !st) init::logger()->error("Docker API server: {}", st.error().what());
  }).detach();
  return ok();
}

// Docker's stop for every running container at once (each its own stop signal and timeout,
// capped by the budget), then the manager winds down.
void stop_containers(std::chrono::milliseconds budget) {
  if (!g_agent) return;
  int timeout_s = static_cast<int>(std::max<int64_t>(1, budget.count() / 1000));
  std::vector<std::thread> stops;
  for (const auto& c : g_agent->containers().list()) {
    if (!c.state.running) continue;
    stops.emplace_back([id = c.id, timeout_s] {
      if (auto r = g_agent->containers().stop(id, timeout_s, std::nullopt); !r)
        init::logger()->warn("stopping container {}: {}", id.substr(0, 12), r.error().what());
    });
  }
  if (!stops.empty()) init::logger()->info("stopping {} container(s)", stops.size());
  for (auto& t : stops) t.join();
  g_agent->containers().shutdown();
}

Result<init::CommandResult> run_command(const std::vector<std::string>& argv, const init::CommandOptions& options) {
  SpawnOptions so;
  so.input = options.input;
  so.timeout = options.timeout;
  auto r = BERTH_TRY(run_process(argv, so));
  init::CommandResult out;
  out.exit_code = r.status;
  out.out = std::move(r.out);
  out.err = std::move(r.err);
  return out;
}

}  // namespace

init::Pid1Options vm_mode_options() {
  init::Pid1Options o;
  o.serve_docker_api = serve_docker_api;
  o.stop_containers = stop_containers;
  // PID 1 reaps orphans by being PID 1; the subreaper flag is for native mode.
  o.start_reaper = [] { return Reaper::start(false); };
  o.run_command = run_command;
  return o;
}

}  // namespace berth::agent
