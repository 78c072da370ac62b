// docker exec: records of exec'd processes and their runs through the container's shim.
#include <fcntl.h>

#include <thread>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "container_manager.h"
#include "image/image_config.h"
#include "process.h"
#include "spec_builder.h"

namespace berth::agent {

namespace {
constexpr size_t kMaxExecsPerContainer = 64;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}
}  // namespace

Result<std::string> ContainerManager::exec_create(const std::string& ref, const ExecConfig& config) {
  if (config.cmd.empty()) return make_error(Errc::invalid_argument, "No exec command specified");
  Container snapshot;
  auto state = std::make_shared<ExecState>();
  {
    std::lock_guard lock(mu_);
    auto e = BERTH_TRY(find_locked(ref));
    if (!e->c.state.running) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
    if (e->c.state.paused)
      return make_error(Errc::conflict, "Container " + e->c.id + " is paused, unpause the container before exec");
    state->id = new_id();
    state->container_id = e->c.id;
    state->config = config;
    execs_[state->id] = state;
    e->execs.push_back(state->id);
    // Finished execs beyond the limit are forgotten, oldest first (health checks exec forever).
    while (e->execs.size() > kMaxExecsPerContainer) {
      auto it = execs_.find(e->execs.front());
      if (it != execs_.end() && it->second->running) break;
      if (it != execs_.end()) execs_.erase(it);
      e->execs.erase(e->execs.begin());
    }
    snapshot = e->c;
  }
  publish(snapshot, "exec_create: " + join(config.cmd), {{"execID", state->id}});
  return state->id;
}

Status ContainerManager::exec_check(const std::string& exec_id) const {
  std::lock_guard lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return make_error(Errc::not_found, "No such exec instance: " + exec_id);
  const auto& x = it->second;
  if (x->running) return make_error(Errc::conflict, "Error: Exec command " + exec_id + " is already running");
  if (x->started) return make_error(Errc::conflict, "Error: Exec command " + exec_id + " has already run");
  auto e = BERTH_TRY(find_locked(x->container_id));
  if (!e->c.state.running) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
  if (e->c.state.paused) return make_error(Errc::conflict, "Container " + e->c.id + " is paused, unpause the container before exec");
  return ok();
}

Result<ExecState> ContainerManager::exec_inspect(const std::string& exec_id) const {
  std::lock_guard lock(mu_);
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return make_error(Errc::not_found, "No such exec instance: " + exec_id);
  return *it->second;
}

Result<ProcessStream> ContainerManager::exec_start(const std::string& exec_id, bool detach, bool tty,
                                                   std::vector<int64_t> console_size) {
  std::shared_ptr<ExecState> x;
  Container c;
  {
    std::lock_guard lock(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return make_error(Errc::not_found, "No such exec instance: " + exec_id);
    x = it->second;
    if (x->running) return make_error(Errc::conflict, "Error: Exec command " + exec_id + " is already running");
    if (x->started) return make_error(Errc::conflict, "Error: Exec command " + exec_id + " has already run");
    auto e = BERTH_TRY(find_locked(x->container_id));
    if (!e->c.state.running) return make_error(Errc::conflict, "Container " + e->c.id + " is not running");
    if (e->c.state.paused) return make_error(Errc::conflict, "Container " + e->c.id + " is paused, unpause the container before exec");
    x->started = true;
    c = e->c;
  }
  auto fail = [&](const Error& err) -> tl::unexpected<Error> {
    std::lock_guard lock(mu_);
    x->running = false;
    // What `docker exec` exits with when the process could not be started.
    std::string m = err.what();
    x->exit_code = m.find("not found") != std::string::npos || m.find("no such file") != std::string::npos ? 127 : 126;
    return tl::unexpected(err);
  };
  // The container's process as its spec has it: user, env, caps, cwd.
  auto text = fs::read_file(container_dir(c.id) + "/bundle/config.json");
  if (!text) return fail(text.error());
  auto spec = oci::parse_spec(*text);
  if (!spec) return fail(spec.error());
  ExecProcessInput in;
  in.container_process = spec->process ? &*spec->process : nullptr;
  in.cmd = x->config.cmd;
  in.env = x->config.env;
  in.working_dir = x->config.working_dir;
  in.tty = x->config.tty || tty;
  in.privileged = x->config.privileged;
  if (!x->config.user.empty()) {
    std::string rootfs = container_dir(c.id) + "/rootfs";
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return fail(sys_error("open " + rootfs).value());
    auto u = image::resolve_user(root.get(), x->config.user);
    if (!u) return fail(Error{Errc::invalid_argument, 0, u.error().message});
    in.uid = u->uid;
    in.gid = u->gid;
    in.additional_gids = u->additional_gids;
  }
  auto process = build_exec_process(in);
  if (in.tty && console_size.size() == 2 && console_size[0] > 0 && console_size[1] > 0)
    process.consoleSize = oci::Box{static_cast<uint32_t>(console_size[0]), static_cast<uint32_t>(console_size[1])};

  shim::Request req;
  req.op = shim::Op::exec;
  req.exec = exec_id;
  req.process = oci::to_json(process);
  req.exec_stdin = x->config.attach_stdin && !detach;
  req.exec_attach = !detach;
  req.attach.attach_stdin = req.exec_stdin;
  req.attach.attach_stdout = x->config.attach_stdout;
  req.attach.attach_stderr = x->config.attach_stderr;
  auto conn = ShimConnection::connect(shim_dir(c.id) + "/shim.sock");
  if (!conn) return fail(conn.error());
  auto ans = conn->call(req, 60000);
  if (!ans) return fail(ans.error());
  {
    std::lock_guard lock(mu_);
    x->running = true;
    x->pid = ans->value("pid", 0);
  }
  publish(c, "exec_start: " + join(x->config.cmd), {{"execID", exec_id}});
  ProcessStream s;
  s.tty = in.tty;
  if (detach) {
    start_thread([this, exec_id] { exec_finish(exec_id); });
    return s;
  }
  s.read_ahead = conn->take_read_ahead();
  s.fd = conn->release();
  return s;
}

void ContainerManager::exec_finish(const std::string& exec_id) {
  std::shared_ptr<ExecState> x;
  {
    std::lock_guard lock(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return;
    x = it->second;
    if (!x->running) return;
  }
  shim::Request w;
  w.op = shim::Op::wait;
  w.exec = exec_id;
  auto r = shim_call(shim_dir(x->container_id) + "/shim.sock", w, -1);
  // The shim may be gone with the container; the exec died with it.
  int code = r ? r->value("exit_code", 0) : 137;
  Container c;
  {
    std::lock_guard lock(mu_);
    x->running = false;
    x->exit_code = code;
    auto e = find_locked(x->container_id);
    if (e) c = (*e)->c;
  }
  if (!c.id.empty()) publish(c, "exec_die", {{"execID", exec_id}, {"exitCode", std::to_string(code)}});
}

Status ContainerManager::exec_resize(const std::string& exec_id, int height, int width) {
  std::shared_ptr<ExecState> x;
  {
    std::lock_guard lock(mu_);
    auto it = execs_.find(exec_id);
    if (it == execs_.end()) return make_error(Errc::not_found, "No such exec instance: " + exec_id);
    x = it->second;
  }
  shim::Request r;
  r.op = shim::Op::resize;
  r.exec = exec_id;
  r.height = static_cast<uint16_t>(height);
  r.width = static_cast<uint16_t>(width);
  // The CLI resizes right after starting; the shim may not know the exec for a moment.
  for (int i = 0;; ++i) {
    auto res = shim_call(shim_dir(x->container_id) + "/shim.sock", r);
    if (res) return ok();
    if (i >= 10 || res.error().code != Errc::not_found) return tl::unexpected(res.error());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace berth::agent
