// Starting, stopping, signalling, pausing and removing containers, and what happens when a
// container's process ends: exit status, restart policies, AutoRemove.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "berth/common/fs.h"
#include "cgroup/cgroup.h"
#include "berth/common/log.h"
#include "container_manager.h"
#include "copy_tree.h"
#include "image/rootfs.h"
#include "image/safe_fs.h"
#include "process.h"
#include "signals.h"
#include "spec_builder.h"

namespace berth::agent {

namespace {

auto logger() { return log::get("agent"); }

int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// dockerd's exit codes for a process that could not be started, which the CLI passes on.
int start_failure_code(const std::string& msg) {
  if (msg.find("executable file not found") != std::string::npos || msg.find("no such file or directory") != std::string::npos)
    return 127;
  if (msg.find("permission denied") != std::string::npos) return 126;
  return 128;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ContainerManager::ContainerManager(ManagerOptions options, image::ImageStore& images, VolumeStore& volumes, EventBus& events)
    : o_(std::move(options)),
      images_(images),
      volumes_(volumes),
      events_(events),
      health_([this](const std::string& id, uint64_t gen) { health_probe(id, gen); },
              [](std::function<void()> fn) { start_thread(std::move(fn)); }) {}

ContainerManager::~ContainerManager() { shutdown(); }

void ContainerManager::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    cv_.notify_all();
  }
  health_.stop();
}

Result<ContainerManager::EntryPtr> ContainerManager::find_locked(const std::string& ref) const {
  if (ref.empty()) return make_error(Errc::not_found, "No such container: ");
  if (auto it = by_id_.find(ref); it != by_id_.end()) return it->second;
  std::string name = ref.front() == '/' ? ref : "/" + ref;
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    if (auto e = by_id_.find(it->second); e != by_id_.end()) return e->second;
  }
  EntryPtr found;
  for (auto it = by_id_.lower_bound(ref); it != by_id_.end() && it->first.compare(0, ref.size(), ref) == 0; ++it) {
    if (found) return make_error(Errc::invalid_argument, "multiple IDs found with provided prefix: " + ref);
    found = it->second;
  }
  if (found) return found;
  return make_error(Errc::not_found, "No such container: " + ref);
}

Result<ContainerManager::EntryPtr> ContainerManager::find(const std::string& ref) const {
  std::lock_guard lock(mu_);
  return find_locked(ref);
}

Status ContainerManager::persist_locked(const Entry& e) {
  if (e.removed) return ok();
  return fs::write_file_atomic(container_dir(e.c.id) + "/config.json", to_json(e.c).dump(), 0600);
}

void ContainerManager::publish(const Container& c, const std::string& action, std::map<std::string, std::string> extra) {
  Event ev;
  ev.type = "container";
  ev.action = action;
  ev.id = c.id;
  ev.attributes = c.config.labels;
  ev.attributes["name"] = c.name.empty() ? "" : c.name.substr(1);
  ev.attributes["image"] = c.config.image;
  for (auto& [k, v] : extra) ev.attributes[k] = v;
  events_.publish(std::move(ev));
}

Status ContainerManager::runtime_cmd(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {o_.runtime_bin, "--root", runtime_root()};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions so;
  so.timeout = std::chrono::milliseconds(30000);
  auto r = BERTH_TRY(run_process(argv, so));
  if (r.status != 0) {
    std::string msg = trim(r.err);
    return make_error(Errc::internal, msg.empty() ? "berth-runtime " + args.front() + " failed" : msg);
  }
  return ok();
}

Status ContainerManager::signal_shim(const EntryPtr& e, int sig, bool all) {
  shim::Request r;
  r.op = shim::Op::signal;
  r.signal = sig;
  r.all = all;
  auto res = shim_call(shim_dir(e->c.id) + "/shim.sock", r, 10000);
  if (!res) return tl::unexpected(res.error());
  return ok();
}

bool ContainerManager::wait_exit(const EntryPtr& e, uint64_t seq_before, int timeout_ms) {
  std::unique_lock lock(mu_);
  auto done = [&] { return e->exit_seq != seq_before || e->removed; };
  if (timeout_ms < 0) {
    cv_.wait(lock, done);
    return true;
  }
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), done);
}

Status ContainerManager::copy_up_volumes(const EntryPtr& e) {
  std::vector<MountPoint> mounts;
  std::string rootfs = container_dir(e->c.id) + "/rootfs";
  {
    std::lock_guard lock(mu_);
    mounts = e->c.mounts;
  }
  bool changed = false;
  for (auto& mp : mounts) {
    if (mp.type != "volume" || !mp.copy_up) continue;
    mp.copy_up = false;  // only ever on the first start, as dockerd does
    changed = true;
    auto dst = image::safefs::open_dir_path(mp.source);
    if (!dst) continue;
    auto children = image::safefs::list_dir(dst->get());
    if (!children || !children->empty()) continue;
    auto root = image::safefs::open_dir_path(rootfs);
    if (!root) continue;
    auto src = image::safefs::open_in_root(root->get(), mp.destination, O_RDONLY | O_DIRECTORY);
    if (!src) continue;
    if (auto st = copy_tree(src->get(), dst->get()); !st)
      logger()->warn("container {}: copying image content into volume {}: {}", short_id(e->c.id), mp.name, st.error().what());
  }
  if (changed) {
    std::lock_guard lock(mu_);
    e->c.mounts = mounts;
    (void)persist_locked(*e);
  }
  return ok();
}

Status ContainerManager::prepare_bundle(const EntryPtr& e, std::string& bundle) {
  Container c;
  {
    std::lock_guard lock(mu_);
    c = e->c;
  }
  auto rootfs = BERTH_TRY(image::mount_rootfs(o_.state_root, c.id, {}));
  BERTH_TRY(copy_up_volumes(e));
  {
    std::lock_guard lock(mu_);
    c.mounts = e->c.mounts;
  }
  UniqueFd root(::open(rootfs.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open rootfs " + rootfs.path);
  auto user = image::resolve_user(root.get(), c.config.user);
  if (!user) return make_error(Errc::invalid_argument, user.error().message);
  SpecInput in;
  in.container = &c;
  in.rootfs = rootfs.path;
  in.uid = user->uid;
  in.gid = user->gid;
  in.additional_gids = user->additional_gids;
  for (const auto& g : c.host_config.group_add) {
    auto r = image::resolve_user(root.get(), "0:" + g);
    if (!r) return make_error(Errc::invalid_argument, "unable to find group " + g + ": " + r.error().message);
    in.additional_gids.push_back(r->gid);
  }
  if (c.host_config.init.value_or(false)) in.init_binary = o_.init_bin;
  in.machine = o_.machine;
  bool has_home = std::any_of(c.config.env.begin(), c.config.env.end(), [](const std::string& v) { return v.rfind("HOME=", 0) == 0; });
  auto spec = BERTH_TRY(build_spec(in));
  if (!has_home) spec.process->env.push_back("HOME=" + (user->home.empty() ? std::string("/") : user->home));
  bundle = container_dir(c.id) + "/bundle";
  BERTH_TRY(fs::mkdir_p(bundle, 0700));
  BERTH_TRY(fs::write_file_atomic(bundle + "/config.json", oci::to_json(spec).dump(), 0600));
  return ok();
}

Status ContainerManager::start_locked(const EntryPtr& e, bool policy_restart) {
  Container c;
  {
    std::lock_guard lock(mu_);
    if (e->removed) return make_error(Errc::not_found, "No such container: " + e->c.id);
    if (e->c.state.status == "removing") return make_error(Errc::conflict, "container is marked for removal and cannot be started");
    if (e->c.state.paused) return make_error(Errc::conflict, "cannot start a paused container, try unpause instead");
    c = e->c;
  }
  std::string bundle;
  auto fail = [&](const Error& err) -> Status {
    std::string msg = err.what();
    {
      std::lock_guard lock(mu_);
      e->c.state.error = msg;
      e->c.state.exit_code = start_failure_code(msg);
      e->c.state.restarting = false;
      e->c.state.running = false;
      if (e->c.state.status != "created") e->c.state.status = "exited";
      e->shim_ready = false;
      for (auto& p : e->pending) {
        p->done = true;
        p->result = make_error(err.code, msg);
      }
      e->pending.clear();
      (void)persist_locked(*e);
      cv_.notify_all();
    }
    logger()->warn("container {}: start failed: {}", short_id(c.id), msg);
    Errc code = start_failure_code(msg) != 128 ? Errc::invalid_argument : err.code;
    if (code == Errc::not_found || code == Errc::io) code = Errc::internal;
    return make_error(code, msg);
  };
  if (auto st = prepare_bundle(e, bundle); !st) return fail(st.error());

  (void)runtime_cmd({"delete", "--force", c.id});  // a stale runtime container of an earlier run
  std::string sdir = shim_dir(c.id);
  if (auto st = fs::mkdir_p(sdir, 0700); !st) return fail(st.error());
  std::vector<std::string> argv = {o_.shim_bin,  "--id",           c.id,          "--bundle",     bundle,
                                   "--state-dir", sdir,            "--runtime",   o_.runtime_bin, "--runtime-root",
                                   runtime_root(), "--no-start"};
  if (c.config.tty) argv.push_back("--tty");
  if (c.config.open_stdin) argv.push_back("--stdin");
  // dockerd closes stdin after the first attacher only without a TTY: `docker run -it`, then
  // detach and `docker attach` again must still reach the shell.
  if (c.config.stdin_once && !c.config.tty) argv.push_back("--stdin-once");
  if (o_.no_pivot) argv.push_back("--no-pivot");
  if (c.host_config.log_config.type == "none") {
    argv.push_back("--no-log");
  } else {
    argv.insert(argv.end(), {"--log-path", c.log_path});
    auto& lc = c.host_config.log_config.config;
    if (auto it = lc.find("max-size"); it != lc.end() && !it->second.empty() && it->second != "-1")
      argv.insert(argv.end(), {"--log-max-size", it->second});
    if (auto it = lc.find("max-file"); it != lc.end() && !it->second.empty()) argv.insert(argv.end(), {"--log-max-files", it->second});
  }
  SpawnOptions so;
  so.timeout = std::chrono::milliseconds(120000);
  auto launched = run_process(argv, so);
  if (!launched) return fail(launched.error());
  if (launched->status != 0) {
    std::string msg = trim(launched->err);
    if (msg.rfind("berth-shim: ", 0) == 0) msg = msg.substr(12);
    if (msg.empty()) msg = "berth-shim failed with status " + std::to_string(launched->status);
    return fail(Error{Errc::internal, 0, msg});
  }
  int pid = 0, shim_pid = 0;
  try {
    auto j = Json::parse(launched->out);
    pid = j.value("pid", 0);
    shim_pid = j.value("shim_pid", 0);
  } catch (const Json::exception&) {
    return fail(Error{Errc::protocol, 0, "berth-shim: unexpected answer: " + launched->out});
  }

  // Attachers waiting for this start (docker run, docker start -a) connect before the process
  // runs, so they see all of its output.
  std::vector<std::shared_ptr<PendingAttach>> pending;
  {
    std::lock_guard lock(mu_);
    e->shim_ready = true;
    e->shim_pid = shim_pid;
    pending.swap(e->pending);
  }
  std::string sock = sdir + "/shim.sock";
  for (auto& p : pending) {
    Result<ProcessStream> r = make_error(Errc::internal, "not attached");
    auto conn = ShimConnection::connect(sock);
    if (conn) {
      shim::Request req;
      req.op = shim::Op::attach;
      req.attach = p->options;
      auto ans = conn->call(req);
      if (ans) {
        ProcessStream s;
        s.tty = ans->value("tty", false);
        s.read_ahead = conn->take_read_ahead();
        s.fd = conn->release();
        r = std::move(s);
      } else {
        r = tl::unexpected(ans.error());
      }
    } else {
      r = tl::unexpected(conn.error());
    }
    std::lock_guard lock(mu_);
    p->result = std::move(r);
    p->done = true;
    cv_.notify_all();
  }

  shim::Request start;
  start.op = shim::Op::start;
  auto started = shim_call(sock, start, 60000);
  if (!started) {
    (void)runtime_cmd({"delete", "--force", c.id});
    return fail(started.error());
  }
  uint64_t gen;
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    auto& s = e->c.state;
    s.status = "running";
    s.running = true;
    s.paused = s.restarting = s.oom_killed = s.dead = false;
    s.pid = pid;
    s.exit_code = 0;
    s.error.clear();
    s.started_at = now_string();
    e->c.manually_stopped = false;
    if (policy_restart) ++e->c.restart_count;
    e->started_mono_ms = mono_ms();
    gen = ++e->run_gen;
    health_begin_locked(*e);
    (void)persist_locked(*e);
    snapshot = e->c;
    cv_.notify_all();
  }
  publish(snapshot, "start");
  health_watch(e, gen);
  logger()->info("container {}: started (pid {}, shim {})", short_id(c.id), pid, shim_pid);
  start_thread([this, e, gen] { monitor(e, gen); });
  return ok();
}

void ContainerManager::monitor(const EntryPtr& e, uint64_t gen) {
  std::string id = e->c.id;
  std::string sock = shim_dir(id) + "/shim.sock";
  std::string exit_file = shim_dir(id) + "/exit.json";
  int exit_code = 255;
  std::string finished, error;
  for (int attempt = 0;; ++attempt) {
    shim::Request w;
    w.op = shim::Op::wait;
    auto r = shim_call(sock, w, -1);
    if (r) {
      exit_code = r->value("exit_code", 255);
      finished = r->value("finished_at", now_string());
      break;
    }
    // The shim is gone: exit.json says how the container ended (written before it left).
    if (auto text = fs::read_file(exit_file)) {
      if (auto rec = shim::parse_exit_record(*text)) {
        exit_code = rec->exit_code;
        finished = rec->finished_at;
        break;
      }
    }
    if (r.error().code == Errc::not_found || attempt >= 20) {
      if (attempt < 5) {  // exit.json is written before the socket goes; allow for the rename
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      error = "berth-shim exited without recording the container's exit status";
      finished = now_string();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  handle_exit(e, gen, exit_code, finished, error);
}

void ContainerManager::handle_exit(const EntryPtr& e, uint64_t gen, int exit_code, const std::string& finished_at,
                                   const std::string& error) {
  bool restart = false, auto_remove = false;
  int delay = 0;
  uint64_t seq = 0;
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    if (e->removed || gen != e->run_gen || !e->c.state.running) return;
    auto& s = e->c.state;
    s.running = s.paused = false;
    s.pid = 0;
    s.exit_code = exit_code;
    s.finished_at = finished_at.empty() ? now_string() : finished_at;
    s.status = "exited";
    if (!error.empty()) s.error = error;
    // dockerd reports a stopped container's health as unhealthy; its log stays.
    if (s.health) s.health->status = kHealthUnhealthy;
    health_.unwatch(e->c.id);
    e->shim_ready = false;
    e->last_exit_code = exit_code;
    seq = ++e->exit_seq;
    const auto& p = e->c.host_config.restart_policy;
    bool user_stopped = e->stopping || e->c.manually_stopped || shutting_down_;
    if (!user_stopped) {
      if (p.name == "always" || p.name == "unless-stopped") restart = true;
      if (p.name == "on-failure" && exit_code != 0 &&
          (p.maximum_retry_count == 0 || e->c.restart_count < p.maximum_retry_count))
        restart = true;
    }
    if (restart) {
      // dockerd's back-off: 100 ms doubling to a minute, reset after 10 s of running.
      int64_t ran = mono_ms() - e->started_mono_ms;
      e->restart_delay_ms = ran >= 10000 || e->restart_delay_ms == 0 ? 100 : std::min(e->restart_delay_ms * 2, 60000);
      delay = e->restart_delay_ms;
      s.restarting = true;
      s.status = "restarting";
    }
    auto_remove = !restart && e->c.host_config.auto_remove;
    (void)persist_locked(*e);
    snapshot = e->c;
    cv_.notify_all();
  }
  publish(snapshot, "die", {{"exitCode", std::to_string(exit_code)}});
  logger()->info("container {}: exited with {}{}", short_id(snapshot.id), exit_code, restart ? ", restarting" : "");
  (void)runtime_cmd({"delete", "--force", snapshot.id});
  if (restart) {
    schedule_restart(e, seq, delay);
  } else if (auto_remove) {
    start_thread([this, e] {
      std::lock_guard op(e->op);
      if (auto st = remove_locked(e, true, true); !st)
        logger()->warn("container {}: auto-remove: {}", short_id(e->c.id), st.error().what());
    });
  }
}

void ContainerManager::schedule_restart(const EntryPtr& e, uint64_t seq, int delay_ms) {
  start_thread([this, e, seq, delay_ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    std::lock_guard op(e->op);
    {
      std::lock_guard lock(mu_);
      if (e->removed || e->exit_seq != seq || !e->c.state.restarting || shutting_down_) return;
    }
    if (auto st = start_locked(e, true); !st) {
      std::lock_guard lock(mu_);
      e->c.state.restarting = false;
      e->c.state.status = "exited";
      (void)persist_locked(*e);
      cv_.notify_all();
    }
  });
}

Result<bool> ContainerManager::start(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  {
    std::lock_guard lock(mu_);
    if (e->c.state.running) return false;
    // A container waiting out its restart delay is started now.
    e->c.state.restarting = false;
  }
  auto st = start_locked(e, false);
  if (!st) {
    // dockerd removes an AutoRemove container whose start failed: `docker run --rm` waits for
    // that removal before it reports the error.
    bool auto_remove;
    {
      std::lock_guard lock(mu_);
      auto_remove = e->c.host_config.auto_remove;
    }
    if (auto_remove) (void)remove_locked(e, true, true);
    return tl::unexpected(st.error());
  }
  return true;
}

Result<bool> ContainerManager::stop_locked(const EntryPtr& e, std::optional<int> timeout_s, std::optional<std::string> signal) {
  int sig = SIGTERM;
  int timeout = 10;
  uint64_t seq;
  bool paused;
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    if (!e->c.state.running) {
      if (e->c.state.restarting) {
        e->c.state.restarting = false;
        e->c.state.status = "exited";
        e->c.manually_stopped = true;
        (void)persist_locked(*e);
        cv_.notify_all();
        return true;
      }
      return false;
    }
    std::string s = signal && !signal->empty() ? *signal : e->c.config.stop_signal;
    if (!s.empty()) sig = BERTH_TRY(parse_signal(s));
    timeout = timeout_s ? *timeout_s : static_cast<int>(e->c.config.stop_timeout.value_or(10));
    e->stopping = true;
    e->c.manually_stopped = true;
    (void)persist_locked(*e);
    seq = e->exit_seq;
    paused = e->c.state.paused;
    snapshot = e->c;
  }
  auto done = [&] {
    std::lock_guard lock(mu_);
    e->stopping = false;
  };
  (void)signal_shim(e, sig, false);
  if (paused) (void)runtime_cmd({"resume", snapshot.id});
  publish(snapshot, "kill", {{"signal", std::to_string(sig)}});
  if (!wait_exit(e, seq, timeout < 0 ? -1 : timeout * 1000)) {
    logger()->info("container {}: did not stop within {}s, killing it", short_id(snapshot.id), timeout);
    (void)signal_shim(e, SIGKILL, true);
    publish(snapshot, "kill", {{"signal", std::to_string(SIGKILL)}});
    if (!wait_exit(e, seq, 30000)) {
      done();
      return make_error(Errc::internal, "container " + snapshot.id + " did not stop after SIGKILL");
    }
  }
  done();
  publish(snapshot, "stop");
  return true;
}

Result<bool> ContainerManager::stop(const std::string& ref, std::optional<int> timeout_s, std::optional<std::string> signal) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  return stop_locked(e, timeout_s, signal);
}

Status ContainerManager::kill(const std::string& ref, const std::string& signal) {
  auto e = BERTH_TRY(find(ref));
  int sig = signal.empty() ? SIGKILL : BERTH_TRY(parse_signal(signal));
  Container snapshot;
  bool paused;
  {
    std::lock_guard lock(mu_);
    if (!e->c.state.running)
      return make_error(Errc::conflict, "Cannot kill container: " + ref + ": Container " + e->c.id + " is not running");
    if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT) {
      e->c.manually_stopped = true;
      (void)persist_locked(*e);
    }
    paused = e->c.state.paused;
    snapshot = e->c;
  }
  BERTH_TRY(signal_shim(e, sig, false));
  if (paused && sig == SIGKILL) (void)runtime_cmd({"resume", snapshot.id});
  publish(snapshot, "kill", {{"signal", std::to_string(sig)}});
  return ok();
}

Status ContainerManager::restart(const std::string& ref, std::optional<int> timeout_s, std::optional<std::string> signal) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  BERTH_TRY(stop_locked(e, timeout_s, signal));
  {
    std::lock_guard lock(mu_);
    e->c.state.restarting = false;
  }
  BERTH_TRY(start_locked(e, false));
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = e->c;
  }
  publish(snapshot, "restart");
  return ok();
}

Status ContainerManager::pause(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  {
    std::lock_guard lock(mu_);
    if (!e->c.state.running) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
    if (e->c.state.paused) return make_error(Errc::conflict, "Container " + e->c.id + " is already paused");
  }
  BERTH_TRY(runtime_cmd({"pause", e->c.id}));
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    e->c.state.paused = true;
    e->c.state.status = "paused";
    (void)persist_locked(*e);
    snapshot = e->c;
  }
  publish(snapshot, "pause");
  return ok();
}

Status ContainerManager::unpause(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  {
    std::lock_guard lock(mu_);
    if (!e->c.state.paused) return make_error(Errc::conflict, "Container " + e->c.id + " is not paused");
  }
  BERTH_TRY(runtime_cmd({"resume", e->c.id}));
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    e->c.state.paused = false;
    if (e->c.state.running) e->c.state.status = "running";
    (void)persist_locked(*e);
    snapshot = e->c;
  }
  publish(snapshot, "unpause");
  return ok();
}

Status ContainerManager::remove_locked(const EntryPtr& e, bool force, bool remove_volumes) {
  Container c;
  bool running;
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    if (e->removed) return make_error(Errc::not_found, "No such container: " + e->c.id);
    running = e->c.state.running;
    if (running && !force) {
      std::string what = e->c.state.paused ? "paused" : "running";
      return make_error(Errc::conflict, "cannot remove container \"" + e->c.name + "\": container is " + what +
                                            ": stop the container before removing or force remove");
    }
    if (running) {
      e->stopping = true;
      e->c.manually_stopped = true;
    }
    e->c.state.restarting = false;
    seq = e->exit_seq;
    c = e->c;
  }
  if (running) {
    (void)signal_shim(e, SIGKILL, true);
    if (c.state.paused) (void)runtime_cmd({"resume", c.id});
    publish(c, "kill", {{"signal", std::to_string(SIGKILL)}});
    if (!wait_exit(e, seq, 30000)) {
      std::lock_guard lock(mu_);
      e->stopping = false;
      return make_error(Errc::internal, "could not kill running container " + c.id + ", cannot remove");
    }
  }
  {
    std::lock_guard lock(mu_);
    e->c.state.status = "removing";
    e->stopping = false;
  }
  (void)runtime_cmd({"delete", "--force", c.id});
  if (auto rootfs = image::open_rootfs(o_.state_root, c.id)) {
    if (auto st = rootfs->remove(); !st) {
      std::lock_guard lock(mu_);
      e->c.state.status = "dead";
      e->c.state.dead = true;
      (void)persist_locked(*e);
      return make_error(Errc::internal, "unable to remove filesystem for " + c.id + ": " + st.error().what());
    }
  }
  (void)fs::remove_all(container_dir(c.id));
  (void)fs::remove_all(shim_dir(c.id));
  {
    std::lock_guard lock(mu_);
    e->removed = true;
    health_.unwatch(c.id);
    by_id_.erase(c.id);
    if (auto it = by_name_.find(e->c.name); it != by_name_.end() && it->second == c.id) by_name_.erase(it);
    for (const auto& x : e->execs) execs_.erase(x);
    cv_.notify_all();
  }
  if (remove_volumes) {
    for (const auto& m : c.mounts) {
      if (m.type != "volume" || !m.anonymous) continue;
      auto users = volume_users(m.name);
      if (users.empty()) (void)volumes_.remove(m.name, {});
    }
  }
  publish(c, "destroy");
  logger()->info("container {}: removed", short_id(c.id));
  return ok();
}

Status ContainerManager::remove(const std::string& ref, bool force, bool remove_volumes) {
  auto e = BERTH_TRY(find(ref));
  std::lock_guard op(e->op);
  return remove_locked(e, force, remove_volumes);
}

Status ContainerManager::rename(const std::string& ref, const std::string& new_name_in) {
  if (new_name_in.empty()) return make_error(Errc::invalid_argument, "Neither old nor new names may be empty");
  if (!valid_container_name(new_name_in))
    return make_error(Errc::invalid_argument,
                      "Invalid container name (" + new_name_in + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  std::string new_name = new_name_in.front() == '/' ? new_name_in : "/" + new_name_in;
  Container snapshot;
  std::string old;
  {
    std::lock_guard lock(mu_);
    auto e = BERTH_TRY(find_locked(ref));
    old = e->c.name;
    if (old == new_name) return make_error(Errc::invalid_argument, "Renaming a container with the same name as its current name");
    if (auto it = by_name_.find(new_name); it != by_name_.end())
      return make_error(Errc::conflict, "Error when allocating new name: Conflict. The container name \"" + new_name +
                                            "\" is already in use by container \"" + it->second +
                                            "\". You have to remove (or rename) that container to be able to reuse that name.");
    by_name_.erase(old);
    by_name_[new_name] = e->c.id;
    e->c.name = new_name;
    (void)persist_locked(*e);
    snapshot = e->c;
  }
  publish(snapshot, "rename", {{"oldName", old}});
  return ok();
}

Status ContainerManager::resize(const std::string& ref, int height, int width) {
  auto e = BERTH_TRY(find(ref));
  {
    std::lock_guard lock(mu_);
    if (!e->shim_ready) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
  }
  shim::Request r;
  r.op = shim::Op::resize;
  r.height = static_cast<uint16_t>(height);
  r.width = static_cast<uint16_t>(width);
  auto res = shim_call(shim_dir(e->c.id) + "/shim.sock", r);
  if (!res) return tl::unexpected(res.error());
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = e->c;
  }
  publish(snapshot, "resize", {{"height", std::to_string(height)}, {"width", std::to_string(width)}});
  return ok();
}

Result<ContainerManager::WaitToken> ContainerManager::prepare_wait(const std::string& ref, WaitCondition condition) {
  std::lock_guard lock(mu_);
  auto e = BERTH_TRY(find_locked(ref));
  WaitToken t;
  t.entry = e;
  t.condition = condition;
  t.seq = e->exit_seq;
  if (condition == WaitCondition::not_running && !e->c.state.running && !e->c.state.restarting) t.immediate = e->c.state.exit_code;
  return t;
}

Result<int> ContainerManager::wait(const WaitToken& t, const std::function<bool()>& cancelled) {
  if (t.immediate) return *t.immediate;
  std::unique_lock lock(mu_);
  const auto& e = t.entry;
  for (;;) {
    if (t.condition == WaitCondition::removed ? e->removed : (e->exit_seq != t.seq || e->removed))
      return e->exit_seq != t.seq ? e->last_exit_code : e->c.state.exit_code;
    if (shutting_down_) return make_error(Errc::internal, "the agent is shutting down");
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    if (cancelled && cancelled()) return make_error(Errc::io, "client went away");
  }
}

bool ContainerManager::running(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  return it != by_id_.end() && (it->second->c.state.running || it->second->shim_ready);
}

Result<ContainerManager::AttachToken> ContainerManager::prepare_attach(const std::string& ref, const shim::AttachOptions& options) {
  std::lock_guard lock(mu_);
  auto e = BERTH_TRY(find_locked(ref));
  if (e->c.state.paused)
    return make_error(Errc::conflict, "container " + ref + " is paused, unpause the container before attach");
  if (e->c.state.restarting)
    return make_error(Errc::conflict, "container " + ref + " is restarting, wait until the container is running");
  AttachToken t;
  t.entry = e;
  t.options = options;
  t.tty = e->c.config.tty;
  if (!e->shim_ready) {
    t.pending = std::make_shared<PendingAttach>();
    t.pending->options = options;
    e->pending.push_back(t.pending);
  }
  Event ev;
  ev.type = "container";
  ev.action = "attach";
  ev.id = e->c.id;
  ev.attributes = e->c.config.labels;
  ev.attributes["name"] = e->c.name.substr(1);
  ev.attributes["image"] = e->c.config.image;
  events_.publish(std::move(ev));  // under mu_: the bus has its own lock and never calls back
  return t;
}

void ContainerManager::cancel_attach(AttachToken& t) {
  if (!t.pending) return;
  std::lock_guard lock(mu_);
  auto& v = t.entry->pending;
  v.erase(std::remove(v.begin(), v.end(), t.pending), v.end());
}

Result<ProcessStream> ContainerManager::attach(AttachToken& t, const std::function<bool()>& cancelled) {
  const auto& e = t.entry;
  if (!t.pending) {
    auto conn = BERTH_TRY(ShimConnection::connect(shim_dir(e->c.id) + "/shim.sock"));
    shim::Request req;
    req.op = shim::Op::attach;
    req.attach = t.options;
    auto ans = BERTH_TRY(conn.call(req));
    ProcessStream s;
    s.tty = ans.value("tty", false);
    s.read_ahead = conn.take_read_ahead();
    s.fd = conn.release();
    return s;
  }
  std::unique_lock lock(mu_);
  auto& p = t.pending;
  while (!p->done) {
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    if (p->done) break;
    if (e->removed || shutting_down_ || (cancelled && cancelled())) {
      e->pending.erase(std::remove(e->pending.begin(), e->pending.end(), p), e->pending.end());
      return make_error(Errc::io, e->removed ? "container removed" : "client went away");
    }
  }
  return std::move(p->result);
}

Result<std::vector<int>> ContainerManager::pids(const std::string& ref) {
  auto e = BERTH_TRY(find(ref));
  {
    std::lock_guard lock(mu_);
    if (!e->c.state.running) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
  }
  runtime::cgroup::Options opts;
  opts.skip_devices = true;
  auto mgr = BERTH_TRY(runtime::cgroup::Manager::open("/berth/" + e->c.id, e->c.id, opts));
  auto p = BERTH_TRY(mgr->pids());
  return std::vector<int>(p.begin(), p.end());
}

}  // namespace berth::agent
