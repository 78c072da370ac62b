#include <iostream>

#include "berth/common/fs.h"
#include "cli.h"

namespace berth::runtime::cli {

void add_update(CLI::App& app, Context& ctx) {
  auto* id = new std::string;
  auto* resources_file = new std::string;
  auto* f = new ResourceFlags;
  auto* cmd = app.add_subcommand("update", "change a running container's resource limits");
  cmd->add_option("id", *id, "container id")->required();
  cmd->add_option("-r,--resources", *resources_file, "LinuxResources JSON file (- for stdin)");
  cmd->add_option("--memory", f->memory, "memory limit in bytes");
  cmd->add_option("--memory-swap", f->memory_swap, "memory+swap limit in bytes");
  cmd->add_option("--memory-reservation", f->memory_reservation, "memory soft limit in bytes");
  cmd->add_option("--kernel-memory", f->kernel_memory, "kernel memory limit (v1 only)");
  cmd->add_option("--cpu-shares", f->cpu_shares, "CPU shares");
  cmd->add_option("--cpu-quota", f->cpu_quota, "CFS quota in microseconds");
  cmd->add_option("--cpu-period", f->cpu_period, "CFS period in microseconds");
  cmd->add_option("--cpu-rt-period", f->cpu_rt_period, "realtime period");
  cmd->add_option("--cpu-rt-runtime", f->cpu_rt_runtime, "realtime runtime");
  cmd->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs allowed");
  cmd->add_option("--cpuset-mems", f->cpuset_mems, "memory nodes allowed");
  cmd->add_option("--pids-limit", f->pids_limit, "maximum number of processes");
  cmd->add_option("--blkio-weight", f->blkio_weight, "block I/O weight");
  set_action(cmd, [&ctx, id, resources_file, f]() -> Result<int> {
    std::optional<oci::LinuxResources> resources;
    if (!resources_file->empty()) {
      std::string text = *resources_file == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                                                : BERTH_TRY(fs::read_file(*resources_file));
      resources = BERTH_TRY(oci::parse_resources(text));
    }
    BERTH_TRY(ctx.runtime().update(*id, resources, *f));
    return 0;
  });
}

}  // namespace berth::runtime::cli
