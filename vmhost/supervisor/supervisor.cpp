#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <thread>

#include "backends/backend.h"
#include "berth/common/json.h"
#include "berth/common/log.h"
#include "berth/common/protocol.h"
#include "bridge/socket_bridge.h"
#include "image/guest_image.h"
#include "instance/config.h"
#include "instance/lock.h"
#include "instance/name.h"
#include "instance/paths.h"
#include "instance/pid_file.h"
#include "instance/run_state.h"
#include "supervisor/agent_client.h"
#include "supervisor/console_scan.h"
#include "supervisor/signals.h"
#include "supervisor/spec_builder.h"

namespace berth::supervisor {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class StopRequest { none, graceful, force };

// How long an agent that answered /ready gets to open its Docker API.
constexpr auto kDockerApiGrace = std::chrono::seconds(120);

class Supervisor {
 public:
  Supervisor(const Options& options, instance::Paths paths, std::shared_ptr<spdlog::logger> log, SignalPipe signals)
      : options_(options), paths_(std::move(paths)), log_(std::move(log)), signals_(std::move(signals)) {}

  int run();

 private:
  void set_state(instance::State state, std::string step = {}, std::string reason = {});
  // Waits up to `timeout` for a signal or the VM's exit; records what happened.
  void wait_events(std::chrono::milliseconds timeout);
  bool vm_gone() { return vm_exit_.has_value(); }
  Status boot();
  std::string exit_detail();
  Status check_ready(const Json& ready);
  void stop_vm();
  int finish(std::string reason, bool failed);

  const Options& options_;
  instance::Paths paths_;
  std::shared_ptr<spdlog::logger> log_;
  SignalPipe signals_;
  std::string backend_;
  std::unique_ptr<backend::Vm> vm_;
  std::unique_ptr<bridge::SocketBridge> bridge_;
  std::unique_ptr<AgentClient> agent_;
  StopRequest stop_ = StopRequest::none;
  std::optional<process::ExitInfo> vm_exit_;
  std::optional<std::string> vm_problem_;
  std::string step_;
  std::string warnings_;
  Clock::time_point started_ = Clock::now();
};

void Supervisor::set_state(instance::State state, std::string step, std::string reason) {
  instance::RunState st;
  st.state = state;
  st.step = std::move(step);
  st.reason = std::move(reason);
  st.pid = ::getpid();
  st.backend = backend_;
  st.updated = static_cast<int64_t>(std::time(nullptr));
  if (state == instance::State::starting) {
    step_ = st.step;
    log_->info("[{}] {}", options_.name, st.step);
  }
  if (auto w = instance::write_run_state(paths_.status(), st); !w) {
    log_->warn("[{}] cannot write {}: {}", options_.name, paths_.status(), w.error().what());
  }
}

void Supervisor::wait_events(std::chrono::milliseconds timeout) {
  pollfd p{signals_.fd(), POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(timeout.count()));
  for (int sig : signals_.drain()) {
    if (sig == SIGUSR1) {
      log_->info("[{}] forced stop requested", options_.name);
      stop_ = StopRequest::force;
    } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
      if (stop_ == StopRequest::none) log_->info("[{}] stop requested (signal {})", options_.name, sig);
      if (stop_ != StopRequest::force) stop_ = StopRequest::graceful;
    }
  }
  if (vm_ && !vm_exit_) vm_exit_ = vm_->exited();
  if (vm_ && !vm_exit_ && !vm_problem_) {
    if (auto p = vm_->problem()) {
      log_->error("[{}] {}", options_.name, *p);
      vm_problem_ = *p;
    }
  }
}

// Why the VM ended, for messages (": ..." or ""): the guest's panic if the console shows
// one (QEMU then exits 0), else QEMU's last words.
std::string Supervisor::exit_detail() {
  if (std::string panic = find_panic_in_file(paths_.serial_log()); !panic.empty()) {
    return ": the guest kernel panicked: " + panic;
  }
  std::string why = vm_->last_error();
  return why.empty() ? "" : ": " + why;
}

Status Supervisor::boot() {
  set_state(instance::State::starting, "reading the configuration");
  auto config = BERTH_TRY(instance::load(paths_.config()));
  auto image = BERTH_TRY(image::open_dir(options_.image_dir, config.arch));
  log_->info("[{}] guest image {} (kernel {}, protocol {})", options_.name, image.dir, image.kernel_version,
             image.protocol);
  VmSpec spec = build_spec(config, image, paths_);
  backend::clean_stale(paths_, config.mounts.size(), log_);
  // After the cleanup, which clears a crashed run's pid files.
  (void)instance::write_pid_file(paths_.vmhost_pid(), ::getpid());
  vm_ = BERTH_TRY(backend::create_vm(std::move(spec), paths_, log_));
  backend_ = vm_->describe();
  agent_ = std::make_unique<AgentClient>(vm_->connector());

  set_state(instance::State::starting, "starting the VM");
  BERTH_TRY(vm_->start());

  bridge::BridgeOptions bo;
  bo.path = paths_.docker_socket();
  bo.mode = 0600;
  bo.guest_port = protocol::kDockerApiPort;
  bo.instance = options_.name;
  bridge_ = BERTH_TRY(bridge::SocketBridge::start(bo, vm_->connector(), log_));

  auto deadline = Clock::now() + options_.boot_timeout;
  auto poll_until = [&](const char* step, Clock::time_point until, auto attempt) -> Status {
    set_state(instance::State::starting, step);
    std::string last;
    for (;;) {
      if (stop_ != StopRequest::none) return make_error(Errc::conflict, "stopped while " + std::string(step));
      if (vm_problem_) return make_error(Errc::io, *vm_problem_ + " while " + step);
      if (vm_gone()) {
        return make_error(Errc::io, vm_->name() + " exited (" + vm_exit_->describe() + ") while " + step +
                                        exit_detail());
      }
      auto r = attempt();
      if (r) return ok();
      if (r.error().what() != last) {
        last = r.error().what();
        log_->debug("[{}] not yet: {}", options_.name, last);
      }
      if (Clock::now() >= until) {
        auto waited = std::chrono::duration_cast<std::chrono::seconds>(until - started_).count();
        return make_error(Errc::timeout, "timed out after " + std::to_string(waited) + "s " + step +
                                             " (last error: " + last + ")");
      }
      wait_events(250ms);
    }
  };
  Json ready;
  // Short first tries, growing: a connection request that reaches the guest while its vsock
  // driver is still probing can be dropped without the RST that would end it at once (Linux
  // discards replies until the device is registered), and a 5 s wait on it was once the
  // longest step of a TCG start.
  std::chrono::milliseconds attempt_timeout = 1s;
  BERTH_TRY(poll_until("waiting for the guest agent", deadline, [&]() -> Status {
    auto timeout = attempt_timeout;
    attempt_timeout = std::min<std::chrono::milliseconds>(attempt_timeout + 1s, 5s);
    ready = BERTH_TRY(agent_->ready(timeout));
    return ok();
  }));
  BERTH_TRY(check_ready(ready));
  if (auto t = agent_->sync_time(5s); !t) log_->warn("[{}] time sync failed: {}", options_.name, t.error().what());
  // An agent that is up serves its Docker API soon after; one that does not answer at all
  // should not keep `berth start` waiting for the whole boot timeout.
  started_ = Clock::now();
  auto docker_deadline = std::min(deadline, Clock::now() + kDockerApiGrace);
  auto docker = poll_until("waiting for the Docker API", docker_deadline, [&] { return agent_->docker_ping(10s); });
  if (!docker && docker.error().code == Errc::timeout) {
    std::string msg = "the guest agent is up but its Docker API (vsock " + std::to_string(protocol::kDockerApiPort) +
                      ") does not answer: " + docker.error().what();
    if (!warnings_.empty()) msg += "; agent warnings: " + warnings_;
    return make_error(Errc::timeout, msg);
  }
  return docker;
}

// What the agent reported when ready: logged, and a protocol it does not share refused.
Status Supervisor::check_ready(const Json& ready) {
  log_->info("[{}] guest agent ready: version {}, kernel {}, protocol {}", options_.name,
             ready.value("version", "?"), ready.value("kernel", "?"), ready.contains("protocol") ? ready["protocol"].dump() : "?");
  if (const Json* w = jsonf::find(ready, "warnings"); w && w->is_array()) {
    for (const auto& item : *w) {
      std::string text = item.is_string() ? item.get<std::string>() : item.dump();
      log_->warn("[{}] guest agent warning: {}", options_.name, text);
      warnings_ += (warnings_.empty() ? "" : "; ") + text;
    }
  }
  if (const Json* p = jsonf::find(ready, "protocol"); p && p->is_number_unsigned() &&
                                                       p->get<uint64_t>() != protocol::kProtocolVersion) {
    return make_error(Errc::unsupported, "the guest agent speaks protocol " + p->dump() + ", this berth " +
                                             std::to_string(protocol::kProtocolVersion) + "; rebuild the guest image");
  }
  return ok();
}

void Supervisor::stop_vm() {
  if (!vm_ || vm_gone()) return;
  if (stop_ == StopRequest::graceful) {
    set_state(instance::State::stopping);
    auto r = agent_->shutdown(5s);
    if (r) {
      log_->info("[{}] the agent is shutting the guest down", options_.name);
      auto deadline = Clock::now() + options_.shutdown_timeout;
      while (!vm_gone() && Clock::now() < deadline && stop_ != StopRequest::force) wait_events(250ms);
      if (!vm_gone()) log_->warn("[{}] the guest did not power off in time", options_.name);
    } else {
      log_->warn("[{}] cannot ask the agent to shut down: {}", options_.name, r.error().what());
    }
  } else {
    set_state(instance::State::stopping);
  }
  if (!vm_gone()) vm_->quit();
  vm_exit_ = vm_->exited();
}

int Supervisor::finish(std::string reason, bool failed) {
  if (bridge_) bridge_->stop();
  if (vm_) {
    if (!vm_gone()) vm_->kill();
    vm_->cleanup();
  }
  ::unlink(paths_.vmhost_pid().c_str());
  ::unlink(paths_.docker_socket().c_str());
  set_state(instance::State::stopped, {}, reason);
  if (reason.empty()) {
    log_->info("[{}] stopped", options_.name);
  } else {
    log_->log(failed ? spdlog::level::err : spdlog::level::info, "[{}] stopped: {}", options_.name, reason);
  }
  return failed ? 1 : 0;
}

int Supervisor::run() {
  log_->info("[{}] berth host process starting (pid {}, protocol {})", options_.name, ::getpid(),
             protocol::kProtocolVersion);
  auto booted = boot();
  if (!booted) {
    if (stop_ != StopRequest::none) {
      stop_vm();
      return finish("", false);
    }
    std::string reason = booted.error().what();
    if (vm_ && !vm_gone()) {
      // Whatever went wrong, a VM nobody can use must not keep running.
      stop_ = StopRequest::force;
      stop_vm();
    }
    return finish(reason, true);
  }
  set_state(instance::State::running);
  log_->info("[{}] running; Docker API at unix://{}", options_.name, paths_.docker_socket());

  while (stop_ == StopRequest::none && !vm_gone() && !vm_problem_) wait_events(1000ms);
  if (vm_problem_ && !vm_gone()) {
    // A paused, broken VM is of no use to anyone: end it and say why.
    vm_->kill();
    return finish(*vm_problem_, true);
  }
  if (vm_gone()) {
    // Nobody asked: the guest powered off, crashed, or QEMU was killed.
    std::string panic = find_panic_in_file(paths_.serial_log());
    std::string reason;
    if (!panic.empty()) {
      reason = "the guest kernel panicked: " + panic;
    } else if (vm_exit_->clean()) {
      reason = "the VM shut down";
    } else {
      std::string why = vm_->last_error();
      reason = vm_->name() + " exited unexpectedly: " + vm_exit_->describe();
      if (!why.empty()) log_->error("[{}] {} said: {}", options_.name, vm_->name(), why);
    }
    return finish(reason, !vm_exit_->clean() || !panic.empty());
  }
  stop_vm();
  return finish("", false);
}

}  // namespace

int run(const Options& options) {
  if (auto valid = instance::validate_name(options.name); !valid) {
    std::fprintf(stderr, "berth __vmhost: %s\n", valid.error().what().c_str());
    return 2;
  }
  // Sockets, logs and pid files are the user's alone (the directory is 0700 as well).
  ::umask(077);
  auto home = options.home;
  instance::Paths paths(home + "/" + options.name);
  log::Options lo;
  lo.part = "vmhost";
  lo.file = paths.vmhost_log();
  auto log = log::setup(lo);
  std::optional<instance::Lock> lock;
  if (options.lock_fd >= 0) {
    // Inherited without close-on-exec; QEMU and virtiofsd must not hold the lock too.
    ::fcntl(options.lock_fd, F_SETFD, FD_CLOEXEC);
    lock = instance::Lock::adopt(UniqueFd(options.lock_fd));
  } else {
    auto taken = instance::Lock::try_acquire(paths.lock());
    if (!taken || !*taken) {
      log->error("[{}] the instance is already running (its lock is held)", options.name);
      return 1;
    }
    lock = std::move(**taken);
  }
  auto signals = SignalPipe::install();
  if (!signals) {
    log->error("[{}] {}", options.name, signals.error().what());
    return 1;
  }
  Supervisor s(options, paths, log, std::move(*signals));
  int rc = s.run();
  log->flush();
  return rc;
}

}  // namespace berth::supervisor
