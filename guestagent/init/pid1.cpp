#include "init/pid1.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "berth/common/fs.h"
#include "berth/common/protocol.h"
#include "berth/common/version.h"
#include "init/clock.h"
#include "init/cmdline.h"
#include "init/console.h"
#include "init/control_api.h"
#include "init/data_disk.h"
#include "init/emergency.h"
#include "init/events.h"
#include "init/modules.h"
#include "init/network.h"
#include "init/shares.h"
#include "init/shutdown.h"
#include "init/signal_loop.h"
#include "init/system_mounts.h"
#include "init/timeline.h"
#include "init/vsock_listen.h"

namespace berth::agent::init {

namespace {

constexpr const char* kModulesList = "/etc/berth/modules.load";
// Containers' runtimes read this when the root could not be made pivot_root-able and they
// must fall back to --no-pivot (see make_root_pivotable()).
constexpr const char* kNoPivotMarker = "/run/berth/rootfs-no-pivot";

// Makes sure fd 1 is the console: the kernel opens /dev/console for init's stdio, but
// leaves them closed if it could not.
int console_fd() {
  if (::fcntl(1, F_GETFD) >= 0) return 1;
  int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  return fd >= 0 ? fd : 2;
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "?";
}

struct NetResult {
  Result<NetworkInfo> info = make_error(Errc::internal, "not run");
  int64_t start_ms = 0, end_ms = 0;
};

struct DiskResult {
  Result<DataDisk> disk = make_error(Errc::internal, "not run");
  int64_t start_ms = 0, end_ms = 0;
};

std::vector<std::string> slice(const std::vector<std::string>& v, size_t from, size_t to) {
  return {v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to)};
}

// Loads `list` on the calling thread as boot step `step`; failures become warnings.
void load_kernel_modules(const std::vector<std::string>& list, const char* step, BootTimeline& timeline,
                         ControlContext& ctx) {
  int64_t start = boot_ms();
  // The module files are needed once: deleting them returns their RAM (the root is the initramfs).
  ModuleReport report = load_modules(list, /*remove_loaded=*/true);
  int64_t end = boot_ms();
  timeline.add(step, start, end);
  logger()->info("{}: {} loaded, {} already present, {} failed in {} ms, {} KiB of module files freed (slowest: {})",
                 step, report.loaded, report.already, report.failures.size(), end - start,
                 report.removed_bytes / 1024, report.slowest(ctx.debug ? 50 : 3));
  for (const auto& f : report.failures) {
    logger()->error("module {}", f);
    ctx.warnings.push_back("module " + f);
  }
  Json& j = ctx.boot_report["modules"];
  if (!j.is_object()) j = {{"loaded", 0}, {"already", 0}, {"failed", Json::array()}};
  j["loaded"] = j.value("loaded", 0) + report.loaded;
  j["already"] = j.value("already", 0) + report.already;
  for (const auto& f : report.failures) j["failed"].push_back(f);
}

[[noreturn]] void boot_and_serve(Pid1Options options);

[[noreturn]] void shut_down(const Pid1Options& options, const std::string& reason, const std::vector<std::string>& unmount_roots) {
  logger()->info("shutting down: {}", reason);
  EventBus::instance().publish("shutdown", {{"reason", reason}});
  if (options.stop_containers) {
    options.stop_containers(options.stop_budget);
    // Whatever the Docker side's stop left behind.
    terminate_all_processes(std::chrono::milliseconds(0));
  } else {
    terminate_all_processes(options.stop_budget);
  }
  ::sync();
  unmount_all(unmount_roots);
  power_off();
}

}  // namespace

bool should_run_as_pid1(int argc, char** argv) {
  if (::getpid() == 1) return true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--pid1") == 0) return ::access("/etc/berth/VERSION", F_OK) == 0;
  }
  return false;
}

void run_pid1(Pid1Options options) {
  // PID 1 must not die: an uncaught exception on any thread ends in the emergency shell
  // (with what it was) rather than in a kernel panic.
  std::set_terminate([] {
    std::string what = "unknown";
    try {
      if (auto e = std::current_exception()) std::rethrow_exception(e);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    emergency_shell("berth-agent failed: uncaught exception: " + what);
  });
  boot_and_serve(std::move(options));
}

namespace {

[[noreturn]] void boot_and_serve(Pid1Options options) {
  int64_t init_ms = boot_ms();
  setup_console_log(console_fd());
  block_pid1_signals();  // before any thread exists, so that every thread inherits the mask
  ::umask(022);
  ::setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
  ::setenv("HOME", "/root", 1);
  logger()->info("berth-agent {} ({}) starting as PID 1 on Linux {}, {} ms after the kernel", kVersion, kGitCommit,
                 kernel_release(), init_ms);

  static BootTimeline timeline;
  static ShutdownRequest shutdown;
  timeline.init_started(init_ms);
  auto ctx = std::make_shared<ControlContext>();
  ctx->timeline = &timeline;
  ctx->request_shutdown = [](const std::string& reason) { shutdown.request(reason); };

  // Mounts. The root bind comes first: later mounts must land inside it.
  int64_t step = boot_ms();
  auto pivotable = make_root_pivotable();
  if (auto st = mount_system(); !st) emergency_shell("mounting the system file systems failed: " + st.error().what());
  if (!pivotable) {
    logger()->error("the root cannot be made pivot_root-able ({}); containers need --no-pivot",
                    pivotable.error().what());
    ctx->warnings.push_back("root: " + pivotable.error().what());
    (void)fs::mkdir_p("/run/berth");
    (void)fs::write_file(kNoPivotMarker, pivotable.error().what() + "\n");
  }
  if (auto controllers = enable_cgroup_controllers(); !controllers) {
    logger()->warn("cgroup controllers: {}", controllers.error().what());
    ctx->warnings.push_back("cgroups: " + controllers.error().what());
  }
  timeline.add("mounts", step, boot_ms());

  // The command line: the host's configuration. Bad entries are named and skipped.
  BootParams params;
  if (auto text = fs::read_file("/proc/cmdline")) {
    params = parse_cmdline(*text);
  } else {
    ctx->warnings.push_back("cannot read /proc/cmdline: " + text.error().what());
  }
  for (const auto& p : params.problems) {
    logger()->error("kernel command line: {} (ignored)", p);
    ctx->warnings.push_back("kernel command line: " + p);
  }
  ctx->debug = params.debug;
  if (params.time_unix_nanos) {
    if (auto moved = set_clock_from_boot_param(*params.time_unix_nanos); !moved)
      logger()->warn("berth.time: {}", moved.error().what());
  }
  if (auto st = set_hostname(params.hostname); !st) logger()->warn("host name: {}", st.error().what());
  // Ctrl-Alt-Del becomes SIGINT to us (a clean shutdown) instead of an immediate reboot.
  ::reboot(RB_DISABLE_CAD);

  if (options.run_command) set_command_runner(options.run_command);
  if (options.start_reaper) {
    if (auto st = options.start_reaper(); !st) emergency_shell("starting the agent's reaper failed: " + st.error().what());
  }
  if (auto st = start_signal_loop(!options.start_reaper, shutdown); !st)
    emergency_shell("starting the signal loop failed: " + st.error().what());

  // Device modules now; the ones only containers need on a thread (see boot_module_count).
  std::vector<std::string> modules, late_modules;
  if (auto list = read_module_list(kModulesList)) {
    auto split = split_modules(*list, probe_boot_devices(!params.shares.empty()));
    modules = std::move(split.boot);
    late_modules = std::move(split.late);
  } else {
    logger()->error("modules: {}", list.error().what());
    ctx->warnings.push_back("modules: " + list.error().what());
  }
  // Each consumer starts as soon as its driver is in: the data disk (found and mounted on a
  // thread) after virtio_blk, the network (DHCP on a thread) after virtio_net, while the rest
  // of the device modules load. A mount and DHCP mostly wait on QEMU, which works outside the
  // vCPU, so even one vCPU has time for the module loads meanwhile.
  size_t disk_end = modules_through(modules, 0, "virtio_blk");
  size_t net_end = modules_through(modules, disk_end, "virtio_net");
  load_kernel_modules(slice(modules, 0, disk_end), "modules_disk", timeline, *ctx);
  DiskResult disk;
  std::thread disk_thread([&] {
    disk.start_ms = boot_ms();
    auto device = find_data_disk(std::chrono::seconds(2));
    disk.disk = device ? prepare_data_disk(*device) : tl::unexpected(device.error());
    disk.end_ms = boot_ms();
  });
  load_kernel_modules(slice(modules, disk_end, net_end), "modules_net", timeline, *ctx);
  NetResult net;
  std::thread net_thread([&] {
    net.start_ms = boot_ms();
    net.info = setup_network(params, options.dhcp_timeout);
    net.end_ms = boot_ms();
  });
  load_kernel_modules(slice(modules, net_end, modules.size()), "modules", timeline, *ctx);
  // The container-only modules (overlay, bridge, netfilter) are not needed for ready: they
  // load on a thread in the SCHED_IDLE class, so that on one vCPU they take only the time the
  // boot path leaves idle (waiting for DHCP and the disk); once ready and the Docker API
  // server is up, the thread goes back to the normal class.
  ControlContext late_ctx;  // its own warnings: the thread must not share ctx's vectors
  late_ctx.debug = ctx->debug;
  std::promise<void> late_done;
  std::shared_future<void> container_modules = late_done.get_future().share();
  std::thread late_thread([&] {
    sched_param idle{};
    ::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &idle);
    load_kernel_modules(late_modules, "modules_late", timeline, late_ctx);
    late_done.set_value();
  });

  disk_thread.join();
  if (!disk.disk) emergency_shell("data disk: " + disk.disk.error().what());
  logger()->info("data disk {} ({}{}) mounted at {}", disk.disk->device, disk.disk->found,
                 disk.disk->formatted ? ", formatted now" : "", kDataMount);
  timeline.add("disk", disk.start_ms, disk.end_ms);
  ctx->boot_report["disk"] = disk.disk->to_json();

  std::vector<std::string> unmount_roots;
  if (!params.shares.empty()) {
    step = boot_ms();
    auto shares = mount_shares(params.shares);
    timeline.add("shares", step, boot_ms());
    Json list = Json::array();
    for (const auto& s : shares) {
      list.push_back(s.to_json());
      if (s.mounted) unmount_roots.push_back(s.spec.path);
      if (!s.mounted) ctx->warnings.push_back("share " + s.spec.tag + " at " + s.spec.path + ": " + s.error);
    }
    ctx->boot_report["shares"] = std::move(list);
  }
  unmount_roots.push_back(kDataMount);

  net_thread.join();
  timeline.add("net", net.start_ms, net.end_ms);
  if (net.info) {
    logger()->info("network: {} {} ({}){}", net.info->interface, net.info->address, net.info->method,
                   net.info->gateway.empty() ? "" : ", gateway " + net.info->gateway);
    ctx->boot_report["network"] = net.info->to_json();
  } else {
    logger()->error("network: {}; continuing without it", net.info.error().what());
    ctx->warnings.push_back("network: " + net.info.error().what());
    ctx->boot_report["network"] = {{"error", net.info.error().what()}};
  }

  // Ready: the host may talk to us. The context is complete (and read-only, but for its
  // late_* part) from here on. Port 2375 listens from here too: a Docker client that connects
  // before the Docker API server runs waits in the backlog.
  auto control = listen_vsock(protocol::kControlPort);
  if (!control) emergency_shell("control API: " + control.error().what());
  Result<UniqueFd> docker = make_error(Errc::unsupported, "not built in");
  if (options.serve_docker_api) {
    docker = listen_vsock(protocol::kDockerApiPort);
    if (!docker) {
      logger()->error("Docker API: {}", docker.error().what());
      ctx->warnings.push_back("Docker API: " + docker.error().what());
    }
  } else {
    logger()->info("Docker API: not built into this berth-agent; vsock port {} stays closed",
                   protocol::kDockerApiPort);
  }
  int64_t ready_ms = boot_ms();
  timeline.ready(ready_ms);
  size_t warnings = ctx->warnings.size();
  if (auto st = serve_control_api(std::move(*control), ctx); !st) emergency_shell("control API: " + st.error().what());
  logger()->info("ready in {} ms ({} ms kernel, {} ms agent){}", ready_ms, init_ms, ready_ms - init_ms,
                 warnings == 0 ? "" : ", with " + std::to_string(warnings) + " warning(s)");
  EventBus::instance().publish("ready");

  // After ready: the Docker API server at once (it waits for container_modules where it
  // needs them), then the rest of the container-only modules at normal priority. In this
  // order, because on one vCPU the module thread would otherwise take half the CPU while
  // the server starts, and `berth start` waits for the server.
  if (docker) {
    step = boot_ms();
    if (auto st = options.serve_docker_api(std::move(*docker), container_modules); !st) {
      logger()->error("Docker API: {}", st.error().what());
      ctx->add_late([&](Json&, std::vector<std::string>& warnings) { warnings.push_back("Docker API: " + st.error().what()); });
    }
    timeline.add("docker_api", step, boot_ms());
  }
  sched_param normal{};
  ::pthread_setschedparam(late_thread.native_handle(), SCHED_OTHER, &normal);
  late_thread.join();
  ctx->add_late([&](Json& report, std::vector<std::string>& warnings) {
    Json mods = ctx->boot_report.value("modules", Json::object());  // read only: routes read it too
    const Json late = late_ctx.boot_report.value("modules", Json::object());
    for (const char* k : {"loaded", "already"}) mods[k] = mods.value(k, 0) + late.value(k, 0);
    if (late.contains("failed"))
      for (const auto& f : late["failed"]) mods["failed"].push_back(f);
    report["modules"] = std::move(mods);
    for (auto& w : late_ctx.warnings) warnings.push_back(std::move(w));
  });

  shut_down(options, shutdown.wait(), unmount_roots);
}

}  // namespace

}  // namespace berth::agent::init
