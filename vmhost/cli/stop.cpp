// berth stop [NAME] [--force] [--timeout S]
#include <signal.h>

#include <cstdio>
#include <thread>

#include "backends/backend.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/verbs.h"
#include "instance/lock.h"
#include "instance/pid_file.h"

namespace berth::cli {

namespace {

using Clock = std::chrono::steady_clock;

bool wait_until_stopped(const InstanceRef& ref, std::chrono::seconds timeout, Progress& progress) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!vmhost_alive(ref)) return true;
    progress.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return !vmhost_alive(ref);
}

// The pid file is written right after launch; a stop racing a start may need a moment.
std::optional<pid_t> vmhost_pid(const InstanceRef& ref) {
  for (int i = 0; i < 50; ++i) {
    if (instance::vmhost_pid_state(ref.paths.vmhost_pid(), ref.paths.lock()) == instance::PidState::running) {
      return instance::read_pid_file(ref.paths.vmhost_pid());
    }
    if (!vmhost_alive(ref)) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

}  // namespace

int run_stop(const std::string& name, bool force, int timeout_s, const char* verb) {
  auto ref_r = resolve(name);
  if (!ref_r) return fail(verb, ref_r.error().what());
  const InstanceRef& ref = *ref_r;
  auto config = load_existing(ref);
  if (!config) return fail(verb, config.error().what());

  if (!vmhost_alive(ref)) {
    // A crashed run may have left sockets and pid files: clear them under the lock.
    if (auto lock = instance::Lock::try_acquire(ref.paths.lock()); lock && *lock) {
      backend::clean_stale(ref.paths, config->mounts.size(), spdlog::default_logger());
    }
    std::fprintf(stderr, "berth: instance \"%s\" is not running\n", ref.name.c_str());
    return 0;
  }
  Progress progress(Progress::stderr_is_terminal());
  progress.step(std::string(force ? "force-stopping" : "stopping") + " instance " + ref.name);
  auto pid = vmhost_pid(ref);
  if (pid) ::kill(*pid, force ? SIGUSR1 : SIGTERM);
  auto timeout = std::chrono::seconds(force ? 20 : timeout_s);
  if (!pid || !wait_until_stopped(ref, timeout, progress)) {
    // The host process is stuck: kill it; QEMU and virtiofsd die with it (PDEATHSIG).
    if (pid) ::kill(*pid, SIGKILL);
    if (!wait_until_stopped(ref, std::chrono::seconds(10), progress)) {
      progress.fail();
      return fail(verb, "instance " + ref.name + " did not stop; see " + ref.paths.vmhost_log());
    }
    if (auto lock = instance::Lock::try_acquire(ref.paths.lock()); lock && *lock) {
      backend::clean_stale(ref.paths, config->mounts.size(), spdlog::default_logger());
    }
  }
  progress.done();
  std::fprintf(stderr, "berth: instance \"%s\" stopped\n", ref.name.c_str());
  return 0;
}

void add_stop(CLI::App& app, Action& action) {
  struct Args {
    std::string name = "default";
    bool force = false;
    int timeout_s = 90;
  };
  auto args = std::make_shared<Args>();
  auto* sub = app.add_subcommand("stop", "Shut the instance's VM down (cleanly: the agent stops containers first)");
  sub->add_option("name", args->name, "instance name")->default_val("default");
  sub->add_flag("--force,-f", args->force, "stop the VM at once, without asking the guest");
  sub->add_option("--timeout", args->timeout_s, "seconds before a clean stop turns into a forced one")->default_val(90);
  sub->callback([args, &action] { action = [args] { return run_stop(args->name, args->force, args->timeout_s, "stop"); }; });
}

void add_restart(CLI::App& app, Action& action) {
  auto request = std::make_shared<StartRequest>();
  auto* sub = app.add_subcommand("restart", "Stop and start an instance with its saved settings");
  sub->add_option("name", request->name, "instance name")->default_val("default");
  sub->add_option("--image-dir", request->image_dir, "guest image directory");
  sub->add_option("--timeout", request->timeout_s, "seconds to wait for the Docker API")->default_val(600);
  sub->callback([request, &action] {
    action = [request] {
      if (int rc = run_stop(request->name, false, 90, "restart"); rc != 0) return rc;
      return run_start(*request, "restart");
    };
  });
}

}  // namespace berth::cli
