// Health checks of running containers: each probe is an exec in the container through the
// shim, like `docker exec`, with its output captured and a timeout. When probes are due is
// HealthScheduler's (health.h); what a result means is record_probe's.
#include <poll.h>
#include <unistd.h>

#include <csignal>

#include "berth/common/log.h"
#include "berth/shim/frame.h"
#include "container_manager.h"
#include "ids.h"

namespace berth::agent {

namespace {
auto logger() { return log::get("agent"); }

int64_t since_start_ns(const Container& c) {
  auto started = parse_time_ns(c.state.started_at);
  return started ? now_ns() - *started : 0;
}
}  // namespace

void ContainerManager::health_begin_locked(Entry& e) {
  if (!health_enabled(e.c.config.healthcheck)) {
    e.c.state.health.reset();
    return;
  }
  // dockerd keeps the log of earlier runs and starts the status and streak over.
  HealthState h = e.c.state.health.value_or(HealthState{});
  h.status = kHealthStarting;
  h.failing_streak = 0;
  e.c.state.health = std::move(h);
}

void ContainerManager::health_watch(const EntryPtr& e, uint64_t gen) {
  int64_t delay = 0;
  {
    std::lock_guard lock(mu_);
    if (e->removed || e->run_gen != gen || !e->c.state.health || !health_enabled(e->c.config.healthcheck)) return;
    delay = next_probe_delay_ns(*e->c.config.healthcheck, *e->c.state.health, since_start_ns(e->c));
  }
  health_.watch(e->c.id, gen, delay);
}

void ContainerManager::health_probe(const std::string& id, uint64_t gen) {
  HealthConfig config;
  EntryPtr e;
  {
    std::lock_guard lock(mu_);
    auto it = by_id_.find(id);
    if (it == by_id_.end() || shutting_down_) return;
    e = it->second;
    if (e->removed || e->run_gen != gen || !e->c.state.running || !e->c.state.health ||
        !health_enabled(e->c.config.healthcheck))
      return;
    config = *e->c.config.healthcheck;
    // dockerd stops probing a paused container; it resumes at the next interval.
    if (e->c.state.paused) {
      health_.rearm(id, gen, next_probe_delay_ns(config, *e->c.state.health, since_start_ns(e->c)));
      return;
    }
  }
  int64_t began = since_start_ns(e->c);
  HealthLogEntry result = run_probe(id, config);
  bool changed = false;
  int64_t delay = 0;
  Container snapshot;
  {
    std::lock_guard lock(mu_);
    // Stopped, restarted or removed while the probe ran: its result belongs to no run.
    if (e->removed || e->run_gen != gen || !e->c.state.running || !e->c.state.health) return;
    changed = record_probe(*e->c.state.health, config, std::move(result), began);
    (void)persist_locked(*e);
    delay = next_probe_delay_ns(config, *e->c.state.health, since_start_ns(e->c));
    snapshot = e->c;
  }
  if (changed) {
    logger()->info("container {}: {}", short_id(id), snapshot.state.health->status);
    publish(snapshot, "health_status: " + snapshot.state.health->status);
  }
  health_.rearm(id, gen, delay);
}

HealthLogEntry ContainerManager::run_probe(const std::string& id, const HealthConfig& config) {
  HealthLogEntry r;
  r.start = now_string();
  auto failed = [&](const std::string& message) {
    r.exit_code = -1;
    r.output = message;
    r.end = now_string();
    return r;
  };
  ExecConfig x;
  x.attach_stdout = x.attach_stderr = true;
  x.cmd = probe_command(config.test);
  auto exec_id = exec_create(id, x);
  if (!exec_id) return failed(exec_id.error().what());
  auto stream = exec_start(*exec_id, false, false, {});
  if (!stream) return failed(stream.error().what());

  // stdout and stderr together, as dockerd's probe collects them.
  std::string output;
  bool truncated = false;
  shim::FrameDecoder decoder;
  auto take = [&](std::string_view data) {
    if (stream->tty) {
      append_probe_output(output, data, truncated);
      return;
    }
    decoder.feed(data, [&](shim::Stream, std::string_view payload) { append_probe_output(output, payload, truncated); });
  };
  take(stream->read_ahead);
  int64_t timeout = probe_timeout_ns(config);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout);
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{stream->fd.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 60000)));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;
    ssize_t got = ::read(stream->fd.get(), buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;
    take(std::string_view(buf, static_cast<size_t>(got)));
  }
  if (timed_out) {
    // dockerd kills the probe's process on timeout and counts it as a failure.
    shim::Request kill;
    kill.op = shim::Op::signal;
    kill.exec = *exec_id;
    kill.signal = SIGKILL;
    (void)shim_call(shim_dir(id) + "/shim.sock", kill);
  }
  stream->fd.reset();
  exec_finish(*exec_id);
  if (timed_out) return failed("Health check exceeded timeout (" + go_duration(timeout) + ")");
  auto state = exec_inspect(*exec_id);
  r.exit_code = state && state->exit_code ? *state->exit_code : -1;
  r.output = truncated ? output + "..." : output;
  r.end = now_string();
  return r;
}

}  // namespace berth::agent
