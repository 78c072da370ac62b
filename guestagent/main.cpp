// berth-agent: the Docker Engine API for berth's containers. `--native` runs it as a daemon on
// a Linux host; as PID 1 of berth's guest it hands over to init/ (VM mode).
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "api/agent.h"
#include "berth/common/fs.h"
#include "berth/common/version.h"
#include "berth/common/log.h"
#include "core/process.h"
#include "init/pid1.h"
#include "vm_mode.h"

namespace {

std::string self_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

std::string in_path(const std::string& name) {
  const char* path = ::getenv("PATH");
  std::string rest = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t colon = rest.find(':', pos);
    std::string dir = rest.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (!dir.empty() && ::access((dir + "/" + name).c_str(), X_OK) == 0) return dir + "/" + name;
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return "";
}

// The binary next to this one, else the one this build made, else one in PATH.
std::string find_tool(const std::string& name, const char* built) {
  std::string beside = self_dir() + "/" + name;
  if (::access(beside.c_str(), X_OK) == 0) return beside;
  if (built && *built && ::access(built, X_OK) == 0) return built;
  return in_path(name);
}

}  // namespace

int main(int argc, char** argv) {
  // PID 1 of a berth VM (guestagent/init/), serving the Docker API on vsock (vm_mode.cpp).
  if (berth::agent::init::should_run_as_pid1(argc, argv)) berth::agent::init::run_pid1(berth::agent::vm_mode_options());
  CLI::App app{"berth-agent: Docker Engine API for berth containers"};
  bool native = false;
  berth::agent::AgentOptions o;
  std::string log_level = "info", log_file;
  o.state_root = "/var/lib/berth";
  app.add_flag("--native", native, "run as a daemon on this Linux host (not as PID 1 of berth's VM)");
  app.add_option("--state-root", o.state_root, "images, containers and volumes")->capture_default_str();
  app.add_option("--socket", o.socket_path, "Docker API Unix socket (created with mode 0600)");
  app.add_option("--runtime", o.runtime_bin, "berth-runtime binary (default: next to berth-agent, or the build's)");
  app.add_option("--shim", o.shim_bin, "berth-shim binary (default: next to berth-agent, or the build's)");
  app.add_option("--init", o.init_bin, "init for --init containers (default: docker-init or tini if installed)");
  app.add_option("--config-file", o.config_file,
                 "daemon configuration in dockerd's daemon.json format (default: <state-root>/daemon.json if present)");
  app.add_option("--registry-mirror", o.registry.mirrors, "registry mirror for docker.io images (repeatable)");
  app.add_option("--insecure-registry", o.registry.insecure_registries,
                 "registry reachable over plain HTTP: host[:port] or a CIDR (repeatable)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  app.add_option("--log-file", log_file, "log to this file instead of stderr");
  CLI11_PARSE(app, argc, argv);

  if (!native) {
    std::fprintf(stderr, "berth-agent: only --native mode is available in this build\n");
    return 2;
  }
  if (o.socket_path.empty()) {
    std::fprintf(stderr, "berth-agent: --socket is required in native mode\n");
    return 2;
  }
  // Before any thread exists: every thread inherits the blocked SIGCHLD, and shims that
  // double-fork away are re-parented to us.
  if (auto st = berth::agent::Reaper::start(true); !st) {
    std::fprintf(stderr, "berth-agent: %s\n", st.error().what().c_str());
    return 1;
  }
  ::signal(SIGPIPE, SIG_IGN);
  // Handlers run on many short-lived threads; one malloc arena per thread would keep
  // megabytes resident after a burst of clients (RSS budget: 15 MiB idle).
  ::mallopt(M_ARENA_MAX, 2);
  berth::log::setup({"agent", log_file, berth::log::Format::text, spdlog::level::from_str(log_level)});
  auto log = berth::log::get("agent");

  if (o.runtime_bin.empty()) o.runtime_bin = find_tool("berth-runtime", BERTH_BUILD_RUNTIME);
  if (o.shim_bin.empty()) o.shim_bin = find_tool("berth-shim", BERTH_BUILD_SHIM);
  if (o.init_bin.empty()) {
    for (const char* name : {"docker-init", "tini", "tini-static"}) {
      o.init_bin = find_tool(name, nullptr);
      if (!o.init_bin.empty()) break;
    }
  }
  if (o.runtime_bin.empty() || o.shim_bin.empty()) {
    log->error("cannot find berth-runtime or berth-shim; pass --runtime and --shim");
    return 1;
  }
  o.native = native;
  auto agent = berth::agent::Agent::create(o);
  if (!agent) {
    log->error("{}", agent.error().what());
    return 1;
  }
  log->info("berth-agent {} ready (runtime {}, shim {}, init {})", berth::kVersion, o.runtime_bin, o.shim_bin,
            o.init_bin.empty() ? "none" : o.init_bin);
  auto st = (*agent)->run();
  if (!st) log->error("{}", st.error().what());
  log->info("berth-agent stopped; containers keep running");
  spdlog::shutdown();
  // Without destructors: per-container monitor threads are still blocked on their shims, and
  // tearing the manager down under them would race for nothing — the process ends anyway.
  ::_exit(st ? 0 : 1);
}
