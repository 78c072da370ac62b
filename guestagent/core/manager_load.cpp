// After an agent restart: containers from their config.json, reconnected to the shims that
// kept them running, and settled from exit.json when they ended meanwhile.
#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "container_manager.h"
#include "image/safe_fs.h"
#include "process.h"

namespace berth::agent {

Status ContainerManager::load() {
  auto log = log::get("agent");
  std::string dir = o_.state_root + "/containers";
  BERTH_TRY(image::safefs::ensure_dir(dir, 0711));
  BERTH_TRY(fs::mkdir_p(o_.state_root + "/shims", 0700));
  BERTH_TRY(fs::mkdir_p(runtime_root(), 0700));
  auto dfd = BERTH_TRY(image::safefs::open_dir_path(dir));
  auto names = BERTH_TRY(image::safefs::list_dir(dfd.get()));
  std::vector<EntryPtr> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : names) {
      auto text = fs::read_file(dir + "/" + id + "/config.json");
      if (!text) continue;  // not a container of ours (or a create that never finished)
      auto j = parse_json(*text, "config.json");
      auto c = j ? container_from_json(*j) : Result<Container>(tl::unexpected(j.error()));
      if (!c) {
        log->warn("container {}: unreadable config.json, skipped: {}", id, c.error().what());
        continue;
      }
      if (c->id != id) continue;
      auto e = std::make_shared<Entry>();
      e->c = std::move(*c);
      e->last_exit_code = e->c.state.exit_code;
      by_id_[id] = e;
      by_name_[e->c.name] = id;
      if (e->c.state.running || e->c.state.restarting) live.push_back(e);
    }
  }
  for (auto& e : live) {
    const std::string id = e->c.id;
    std::string sock = shim_dir(id) + "/shim.sock";
    shim::Request st;
    st.op = shim::Op::state;
    auto ans = e->c.state.running ? shim_call(sock, st, 5000) : Result<Json>(make_error(Errc::not_found, "restarting"));
    if (ans && ans->value("status", "") != "stopped") {
      uint64_t gen;
      {
        std::lock_guard lock(mu_);
        e->shim_ready = true;
        e->shim_pid = ans->value("shim_pid", 0);
        e->c.state.pid = ans->value("pid", e->c.state.pid);
        e->started_mono_ms = 0;
        gen = ++e->run_gen;
        // Health survives the agent's restart; a record from before health checks starts over.
        if (!e->c.state.health) health_begin_locked(*e);
      }
      health_watch(e, gen);
      log->info("container {}: reconnected to its shim (pid {})", short_id(id), e->c.state.pid);
      start_thread([this, e, gen] { monitor(e, gen); });
      continue;
    }
    if (e->c.state.restarting) {
      uint64_t seq;
      {
        std::lock_guard lock(mu_);
        seq = e->exit_seq;
      }
      schedule_restart(e, seq, 100);
      continue;
    }
    // Ended while we were away: the shim recorded how (or is answering "stopped" right now).
    uint64_t gen;
    {
      std::lock_guard lock(mu_);
      gen = e->run_gen;
    }
    start_thread([this, e, gen] { monitor(e, gen); });
  }
  log->info("loaded {} containers ({} were running)", names.size(), live.size());
  return ok();
}

}  // namespace berth::agent
