// berth start [NAME] [--cpus N] [--memory SIZE] [--disk SIZE] [--mount PATH[:rw|ro]]...
//             [--vm-type auto|qemu|vz] [--arch amd64|arm64] [--image-dir DIR] [--timeout S]
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "backends/backend.h"
#include "backends/platform.h"
#include "berth/common/fs.h"
#include "cli/common.h"
#include "cli/docker_context.h"
#include "cli/progress.h"
#include "cli/verbs.h"
#include "image/guest_image.h"
#include "instance/disk.h"
#include "instance/lock.h"
#include "instance/size.h"
#include "net/http_client.h"
#include "process/child.h"

namespace berth::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string current_dir() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string() : p.string();
}

Result<unsigned> parse_cpus(const std::string& text) {
  unsigned n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n == 0) {
    return make_error(Errc::invalid_argument, "--cpus: \"" + text + "\" is not a positive number");
  }
  return n;
}

Result<instance::Overrides> overrides_from(const StartRequest& r) {
  instance::Overrides o;
  if (!r.cpus.empty()) o.cpus = BERTH_TRY(parse_cpus(r.cpus));
  if (!r.memory.empty()) o.memory = BERTH_TRY(instance::parse_size(r.memory, "--memory"));
  if (!r.disk.empty()) o.disk = BERTH_TRY(instance::parse_size(r.disk, "--disk"));
  if (!r.vm_type.empty()) {
    BERTH_TRY(instance::validate_vm_type(r.vm_type));
    o.vm_type = r.vm_type;
  }
  if (!r.arch.empty()) {
    if (auto st = instance::validate_arch(r.arch); !st) {
      return make_error(Errc::invalid_argument, "--arch: \"" + r.arch + "\" is not one of amd64, arm64");
    }
    o.arch = r.arch;
  }
  if (r.no_mounts) {
    if (r.mounts_given) return make_error(Errc::invalid_argument, "--no-mounts and --mount exclude each other");
    o.mounts = std::vector<instance::Mount>();
  } else if (r.mounts_given) {
    std::vector<instance::Mount> mounts;
    std::string cwd = current_dir();
    for (const auto& m : r.mounts) mounts.push_back(BERTH_TRY(instance::parse_mount(m, cwd)));
    o.mounts = std::move(mounts);
  }
  return o;
}

Status make_private_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return sys_error("create " + path);
  return ok();
}

// The Docker API answers through the bridge: what `start` promises on return.
Status ping_docker(const InstanceRef& ref, std::chrono::seconds timeout) {
  auto deadline = net::Clock::now() + timeout;
  std::string last;
  while (net::Clock::now() < deadline) {
    auto fd = net::connect_unix(ref.paths.docker_socket());
    if (fd) {
      auto r = net::http_request(fd->get(), "GET", "/_ping", "", deadline);
      if (r && r->status == 200) return ok();
      last = r ? "HTTP " + std::to_string(r->status) : r.error().what();
    } else {
      last = fd.error().what();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return make_error(Errc::timeout, "the Docker API did not answer on " + ref.paths.docker_socket() + " (" + last + ")");
}

void print_usage(const InstanceRef& ref, const instance::RunState& st, bool context) {
  std::printf("berth: instance \"%s\" is running%s.\n", ref.name.c_str(),
              st.backend.empty() ? "" : (" (" + st.backend + ")").c_str());
  std::printf("To use it with docker:\n  export DOCKER_HOST=%s\n", docker_host(ref).c_str());
  if (context) std::printf("or\n  docker context use %s\n", context_name(ref.name).c_str());
  std::fflush(stdout);
}

// Launches `berth __vmhost NAME` detached, handing over the instance lock as fd 3.
Result<pid_t> launch_vmhost(const InstanceRef& ref, const image::GuestImage& image, int lock_fd, int timeout_s) {
  std::string exe = platform::executable_path();
  if (exe.empty()) return make_error(Errc::internal, "cannot find the berth executable");
  UniqueFd log = BERTH_TRY(fs::open(ref.paths.vmhost_log(), O_WRONLY | O_CREAT | O_APPEND, 0644));
  platform::SpawnOptions o;
  o.argv = {exe,       "__vmhost", ref.name, "--home", ref.home, "--image-dir", image.dir, "--lock-fd", "3",
            "--boot-timeout", std::to_string(timeout_s)};
  o.stdout_fd = log.get();
  o.extra_fds = {{lock_fd, 3}};
  // Its own session: a Ctrl-C or a closed terminal after `berth start` must not reach it.
  o.new_session = true;
  return platform::spawn(o);
}

}  // namespace

int run_start(const StartRequest& request, const char* verb) {
  auto ref_r = resolve(request.name);
  if (!ref_r) return fail(verb, ref_r.error().what());
  InstanceRef ref = *ref_r;

  // Everything that can be checked is checked before anything is created.
  bool existed = exists(ref);
  instance::Config base;
  if (existed) {
    auto loaded = instance::load(ref.paths.config());
    if (!loaded) return fail(verb, loaded.error().what() + " (fix or delete it)");
    base = *loaded;
  } else {
    const char* home = std::getenv("HOME");
    base = instance::default_config(ref.name, home ? home : "");
  }
  auto overrides = overrides_from(request);
  if (!overrides) return fail(verb, overrides.error().what());
  auto config_r = instance::apply_overrides(base, *overrides, existed && fs::exists(ref.paths.disk()));
  if (!config_r) return fail(verb, config_r.error().what());
  instance::Config config = *config_r;
  for (const auto& m : config.mounts) {
    if (auto st = instance::check_mount_source(m); !st) return fail(verb, st.error().what());
  }
  auto vm_type = backend::resolve_vm_type(config.vm_type);
  if (!vm_type) return fail(verb, vm_type.error().what());
  Arch arch = config.arch == "arm64" ? Arch::arm64 : Arch::amd64;
  if (auto st = backend::check_host(*vm_type, arch, !config.mounts.empty()); !st) return fail(verb, st.error().what());
  image::Search search;
  search.explicit_dir = request.image_dir;
  if (const char* env = std::getenv("BERTH_IMAGE_DIR")) search.env_dir = env;
  search.executable = platform::executable_path();
  search.arch = config.arch;
  auto image = image::locate(search);
  if (!image) return fail(verb, image.error().what());
  if (auto st = ref.paths.check_socket_lengths(config.mounts.size()); !st) return fail(verb, st.error().what());

  if (auto st = make_private_dir(ref.home); !st) return fail(verb, st.error().what());
  bool created_dir = !fs::exists(ref.paths.dir());
  if (auto st = make_private_dir(ref.paths.dir()); !st) return fail(verb, st.error().what());
  // A new instance that fails before its VM is launched leaves nothing behind.
  auto undo = [&] {
    if (created_dir) (void)fs::remove_all(ref.paths.dir());
  };

  auto lock = instance::Lock::try_acquire(ref.paths.lock());
  if (!lock) {
    undo();
    return fail(verb, lock.error().what());
  }
  if (!*lock) {
    auto st = current_state(ref);
    if (st.state == instance::State::running) {
      std::fprintf(stderr, "berth: instance \"%s\" is already running\n", ref.name.c_str());
      if (config != base) {
        std::fprintf(stderr, "berth: the new settings were not applied; stop it first (`berth stop %s`)\n",
                     ref.name.c_str());
      }
      print_usage(ref, st, false);
      return 0;
    }
    return fail(verb, "instance " + ref.name + " is " + st.describe() + " in another berth process; wait for it (`berth status " +
                          ref.name + "`)");
  }
  if (auto st = instance::save(ref.paths.config(), config); !st) {
    undo();
    return fail(verb, st.error().what());
  }
  if (auto st = instance::ensure_disk(ref.paths.disk(), config.disk); !st) {
    undo();
    return fail(verb, st.error().what());
  }
  // Last run's outcome must not be mistaken for this one's.
  ::unlink(ref.paths.status().c_str());

  auto pid = launch_vmhost(ref, *image, (*lock)->fd(), request.timeout_s);
  if (!pid) {
    undo();
    return fail(verb, "cannot launch the berth host process: " + pid.error().what());
  }
  // The vmhost holds the lock now (same open file); this process lets go of its copy.
  lock->reset();
  process::Child vmhost(*pid);

  Progress progress(Progress::stderr_is_terminal());
  progress.step("starting instance " + ref.name);
  std::string log_hint = "; see " + ref.paths.vmhost_log() + " (guest console: `berth logs " + ref.name + " serial`)";
  // The vmhost gives up by itself after the timeout; this is only a backstop.
  auto deadline = Clock::now() + std::chrono::seconds(request.timeout_s + 60);
  for (;;) {
    auto st = instance::read_run_state(ref.paths.status());
    if (st && st->state == instance::State::running) break;
    if (st && st->state == instance::State::starting && !st->step.empty()) progress.step(st->step);
    if (auto e = vmhost.poll()) {
      progress.fail();
      auto final_state = instance::read_run_state(ref.paths.status());
      std::string why = final_state && !final_state->reason.empty() ? final_state->reason
                        : e->clean() ? "instance " + ref.name + " was stopped before it finished starting"
                                     : "the berth host process ended (" + e->describe() + ")";
      return fail(verb, why + log_hint);
    }
    if (Clock::now() >= deadline) {
      progress.fail();
      return fail(verb, "instance " + ref.name + " did not come up in time (still " + (st ? st->describe() : "starting") +
                            "); stop it with `berth stop " + ref.name + "`" + log_hint);
    }
    progress.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  progress.step("checking the Docker API on " + ref.paths.docker_socket());
  if (auto st = ping_docker(ref, std::chrono::seconds(30)); !st) {
    progress.fail();
    return fail(verb, st.error().what() + log_hint);
  }
  progress.done();
  bool context = ensure_docker_context(ref.name, docker_host(ref));
  print_usage(ref, current_state(ref), context);
  return 0;
}

void add_start(CLI::App& app, Action& action) {
  auto request = std::make_shared<StartRequest>();
  auto* sub = app.add_subcommand("start", "Create (first time) and start an instance; returns when Docker answers");
  sub->add_option("name", request->name, "instance name")->default_val("default");
  sub->add_option("--cpus", request->cpus, "virtual CPUs (default 2)");
  sub->add_option("--memory", request->memory, "memory, e.g. 2G, 4GiB, 512MiB (default 2GiB)");
  sub->add_option("--disk", request->disk, "data disk size, sparse; can grow later (default 20GiB)");
  auto* mount = sub->add_option("--mount", request->mounts,
                                "share a host folder at the same path: PATH[:rw|ro]; repeatable; replaces the "
                                "instance's list (default: your home, rw)");
  sub->add_flag("--no-mounts", request->no_mounts, "share no host folders");
  sub->add_option("--vm-type", request->vm_type, "auto, qemu or vz (default auto)");
  sub->add_option("--arch", request->arch, "guest architecture: amd64 or arm64 (default: the host's)");
  sub->add_option("--image-dir", request->image_dir, "guest image directory (default: $BERTH_IMAGE_DIR, the build "
                                                     "tree, /usr/share/berth/images)");
  sub->add_option("--timeout", request->timeout_s, "seconds to wait for the Docker API")->default_val(600);
  sub->callback([request, mount, &action] {
    request->mounts_given = mount->count() > 0;
    action = [request] { return run_start(*request, "start"); };
  });
}

}  // namespace berth::cli
