// The lifecycle operations on an existing container: start, state, list, kill, delete,
// pause/resume, ps and update.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <thread>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "cgroup/cgroup.h"
#include "hooks.h"
#include "runtime.h"

namespace berth::runtime {

namespace {

Result<std::unique_ptr<cgroup::Manager>> open_cgroup(const ContainerState& s) { return open_container_cgroup(s); }

Error bad_state(const std::string& id, std::string_view action, ContainerStatus status) {
  return Error{Errc::conflict, 0,
               "cannot " + std::string(action) + " container \"" + id + "\" in state " + std::string(status_name(status))};
}

void wait_gone(pid_t pid, uint64_t start, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (process_alive(pid, start) && std::chrono::steady_clock::now() < deadline) {
    ::waitpid(pid, nullptr, WNOHANG);  // reaps it when it is ours (run)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

Result<int> parse_signal(const std::string& text) {
  static const std::map<std::string, int> names = {
      {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},   {"ILL", SIGILL},     {"TRAP", SIGTRAP},
      {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},     {"FPE", SIGFPE},     {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
      {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CONT", SIGCONT},   {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},   {"URG", SIGURG},     {"XCPU", SIGXCPU},
      {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},   {"WINCH", SIGWINCH}, {"IO", SIGIO},
      {"POLL", SIGPOLL}, {"PWR", SIGPWR},       {"SYS", SIGSYS},
  };
  if (!text.empty() && std::all_of(text.begin(), text.end(), ::isdigit)) {
    int n = std::stoi(text);
    if (n <= 0 || n >= NSIG) return make_error(Errc::invalid_argument, "invalid signal number " + text);
    return n;
  }
  std::string name = text;
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
    int base = name[2] == 'M' && name[3] == 'I' ? SIGRTMIN : SIGRTMAX;
    int offset = name.size() > 5 ? std::stoi(name.substr(5)) : 0;
    return base + offset;
  }
  auto it = names.find(name);
  if (it == names.end()) return make_error(Errc::invalid_argument, "unknown signal \"" + text + "\"");
  return it->second;
}

Status Runtime::start(const std::string& id) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto status = current_status(paths_, s);
  if (status != ContainerStatus::created) {
    if (status == ContainerStatus::stopped) return make_error(Errc::conflict, "cannot start a container that has stopped");
    return make_error(Errc::conflict, "cannot start an already running container");
  }
  // Opening for reading releases init's blocking open; non-blocking so a dead init can't hang us.
  UniqueFd fifo = BERTH_TRY(fs::open(paths_.fifo(id), O_RDONLY | O_NONBLOCK));
  for (;;) {
    struct pollfd p {fifo.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, 20);
    if (rc > 0 && (p.revents & POLLIN)) {
      char c;
      if (::read(fifo.get(), &c, 1) == 1) break;
    }
    if (!process_alive(s.pid, s.pid_start_time)) return make_error(Errc::conflict, "container init exited before start");
  }
  ::unlink(paths_.fifo(id).c_str());

  auto spec = load_saved_config(paths_, id);
  if (spec && spec->hooks && !spec->hooks->poststart.empty()) {
    std::string st = state_json(s, ContainerStatus::running).dump();
    if (auto r = run_hooks(spec->hooks->poststart, st, "poststart"); !r) {
      // The spec says a failing poststart hook is logged and the container keeps running.
      spdlog::warn("{}: {}", id, r.error().what());
    }
  }
  return ok();
}

Result<OrderedJson> Runtime::state(const std::string& id) {
  auto s = BERTH_TRY(load_state(paths_, id));
  return state_json(s, current_status(paths_, s));
}

Result<std::vector<OrderedJson>> Runtime::list() {
  std::vector<OrderedJson> out;
  for (const auto& id : list_ids(paths_)) {
    if (auto s = load_state(paths_, id)) out.push_back(state_json(*s, current_status(paths_, *s)));
  }
  return out;
}

Status Runtime::kill(const std::string& id, int signal, bool all) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto status = current_status(paths_, s);
  if (status == ContainerStatus::stopped && !all) return make_error(Errc::conflict, "container \"" + id + "\" is not running");
  if (all) {
    auto cg = BERTH_TRY(open_cgroup(s));
    // Stopped processes get the signal only once they run again.
    BERTH_TRY(cg->kill_all(signal));
    if (status == ContainerStatus::paused && signal == SIGKILL) (void)cg->thaw();
    return ok();
  }
  if (::kill(s.pid, signal) < 0) return sys_error("kill container \"" + id + "\"");
  return ok();
}

Status Runtime::remove(const std::string& id, bool force) {
  auto loaded = load_state(paths_, id);
  if (!loaded) {
    if (force && loaded.error().code == Errc::not_found) {
      fs::remove_all(paths_.dir(id));
      return ok();
    }
    return tl::unexpected(loaded.error());
  }
  auto s = *loaded;
  auto status = current_status(paths_, s);
  auto cg = open_cgroup(s);
  if (status == ContainerStatus::running || status == ContainerStatus::paused) {
    if (!force) return tl::unexpected(bad_state(id, "delete", status));
  }
  if (status != ContainerStatus::stopped) {
    ::kill(s.pid, SIGKILL);
    if (cg) {
      (*cg)->kill_all(SIGKILL);
      if (status == ContainerStatus::paused) (*cg)->thaw();
    }
    wait_gone(s.pid, s.pid_start_time, std::chrono::seconds(10));
  }
  if (cg) {
    (*cg)->kill_all(SIGKILL);
    if (auto r = (*cg)->destroy(); !r) spdlog::warn("{}: {}", id, r.error().what());
  }
  auto spec = load_saved_config(paths_, id);
  if (spec && spec->hooks && !spec->hooks->poststop.empty()) {
    std::string st = state_json(s, ContainerStatus::stopped).dump();
    if (auto r = run_hooks(spec->hooks->poststop, st, "poststop"); !r) spdlog::warn("{}: {}", id, r.error().what());
  }
  return fs::remove_all(paths_.dir(id));
}

Status Runtime::pause(const std::string& id) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto status = current_status(paths_, s);
  if (status != ContainerStatus::running) return tl::unexpected(bad_state(id, "pause", status));
  auto cg = BERTH_TRY(open_cgroup(s));
  return cg->freeze();
}

Status Runtime::resume(const std::string& id) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto status = current_status(paths_, s);
  if (status != ContainerStatus::paused) return tl::unexpected(bad_state(id, "resume", status));
  auto cg = BERTH_TRY(open_cgroup(s));
  return cg->thaw();
}

Result<std::vector<pid_t>> Runtime::pids(const std::string& id) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto cg = BERTH_TRY(open_cgroup(s));
  return cg->pids();
}

Status Runtime::update(const std::string& id, const std::optional<oci::LinuxResources>& resources, const ResourceFlags& f) {
  auto s = BERTH_TRY(load_state(paths_, id));
  auto spec = BERTH_TRY(load_saved_config(paths_, id));
  if (!spec.linux) spec.linux.emplace();
  oci::LinuxResources r = resources ? *resources : spec.linux->resources.value_or(oci::LinuxResources{});
  if (f.memory || f.memory_swap || f.memory_reservation || f.kernel_memory) {
    auto& m = r.memory ? *r.memory : r.memory.emplace();
    if (f.memory) m.limit = *f.memory;
    if (f.memory_swap) m.swap = *f.memory_swap;
    if (f.memory_reservation) m.reservation = *f.memory_reservation;
    if (f.kernel_memory) m.kernel = *f.kernel_memory;
  }
  if (f.cpu_shares || f.cpu_quota || f.cpu_period || f.cpuset_cpus || f.cpuset_mems || f.cpu_rt_period || f.cpu_rt_runtime) {
    auto& c = r.cpu ? *r.cpu : r.cpu.emplace();
    if (f.cpu_shares) c.shares = *f.cpu_shares;
    if (f.cpu_quota) c.quota = *f.cpu_quota;
    if (f.cpu_period) c.period = *f.cpu_period;
    if (f.cpuset_cpus) c.cpus = *f.cpuset_cpus;
    if (f.cpuset_mems) c.mems = *f.cpuset_mems;
    if (f.cpu_rt_period) c.realtimePeriod = *f.cpu_rt_period;
    if (f.cpu_rt_runtime) c.realtimeRuntime = *f.cpu_rt_runtime;
  }
  if (f.pids_limit) r.pids = oci::LinuxPids{*f.pids_limit};
  if (f.blkio_weight) {
    auto& b = r.blockIO ? *r.blockIO : r.blockIO.emplace();
    b.weight = *f.blkio_weight;
  }
  auto cg = BERTH_TRY(open_cgroup(s));
  BERTH_TRY(cg->apply(r));
  spec.linux->resources = r;
  return fs::replace_file(paths_.config_file(id), oci::to_json(spec).dump(), 0600);
}

}  // namespace berth::runtime
