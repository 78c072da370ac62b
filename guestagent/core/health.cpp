#include "health.h"

#include <algorithm>

namespace berth::agent {

namespace {
int64_t or_default(int64_t v, int64_t def) { return v > 0 ? v : def; }
}  // namespace

Json to_json(const HealthState& h) {
  Json log = Json::array();
  for (const auto& e : h.log)
    log.push_back({{"Start", e.start}, {"End", e.end}, {"ExitCode", e.exit_code}, {"Output", e.output}});
  return {{"Status", h.status}, {"FailingStreak", h.failing_streak}, {"Log", log}};
}

bool health_enabled(const std::optional<HealthConfig>& h) {
  if (!h || h->test.empty()) return false;
  // dockerd's getProbe: anything but CMD/CMD-SHELL (NONE, unknown kinds) runs nothing.
  if (h->test[0] == "CMD") return h->test.size() > 1;
  if (h->test[0] == "CMD-SHELL") return h->test.size() > 1;
  return false;
}

std::vector<std::string> probe_command(const std::vector<std::string>& test) {
  if (test.empty()) return {};
  if (test[0] == "CMD-SHELL") {
    std::string script;
    for (size_t i = 1; i < test.size(); ++i) script += (i > 1 ? " " : "") + test[i];
    return {"/bin/sh", "-c", script};
  }
  return {test.begin() + 1, test.end()};
}

int64_t probe_timeout_ns(const HealthConfig& h) { return or_default(h.timeout, kDefaultProbeTimeoutNs); }

int64_t next_probe_delay_ns(const HealthConfig& h, const HealthState& s, int64_t since_start_ns) {
  int64_t interval = or_default(h.interval, kDefaultProbeIntervalNs);
  if (since_start_ns >= h.start_period) return interval;
  return s.status == kHealthStarting ? or_default(h.start_interval, kDefaultStartIntervalNs) : interval;
}

bool record_probe(HealthState& s, const HealthConfig& h, HealthLogEntry entry, int64_t since_start_ns) {
  std::string old = s.status;
  bool success = entry.exit_code == 0;
  s.log.push_back(std::move(entry));
  if (s.log.size() > kMaxHealthLogEntries) s.log.erase(s.log.begin(), s.log.end() - kMaxHealthLogEntries);
  if (success) {
    s.failing_streak = 0;
    s.status = kHealthHealthy;
  } else if (!(s.status == kHealthStarting && since_start_ns < h.start_period)) {
    // Failures while still starting inside the start period are the service warming up.
    if (++s.failing_streak >= or_default(h.retries, kDefaultProbeRetries)) s.status = kHealthUnhealthy;
  }
  return s.status != old;
}

void append_probe_output(std::string& out, std::string_view data, bool& truncated) {
  size_t keep = std::min(data.size(), kMaxHealthOutput - std::min(out.size(), kMaxHealthOutput));
  out.append(data.substr(0, keep));
  if (keep < data.size()) truncated = true;
}

std::string health_summary(const std::string& status) {
  return status == kHealthStarting ? "health: starting" : status;
}

std::string go_duration(int64_t ns) {
  if (ns % 1'000'000'000 == 0) {
    int64_t s = ns / 1'000'000'000;
    if (s < 60) return std::to_string(s) + "s";
    std::string out;
    if (s >= 3600) out += std::to_string(s / 3600) + "h";
    return out + std::to_string(s % 3600 / 60) + "m" + std::to_string(s % 60) + "s";
  }
  if (ns < 1'000'000'000 && ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  std::string frac = std::to_string(ns % 1'000'000'000 + 1'000'000'000).substr(1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::to_string(ns / 1'000'000'000) + "." + frac + "s";
}

HealthScheduler::HealthScheduler(Run run, Spawn spawn) : run_(std::move(run)), spawn_(std::move(spawn)) {}

HealthScheduler::~HealthScheduler() { stop(); }

void HealthScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    watches_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void HealthScheduler::watch(const std::string& id, uint64_t gen, int64_t delay_ns) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  watches_[id] = Watch{gen, false, Clock::now() + std::chrono::nanoseconds(delay_ns)};
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
  cv_.notify_all();
}

void HealthScheduler::rearm(const std::string& id, uint64_t gen, int64_t delay_ns) {
  std::lock_guard lock(mu_);
  auto it = watches_.find(id);
  if (it == watches_.end() || it->second.gen != gen) return;
  it->second.in_flight = false;
  it->second.due = Clock::now() + std::chrono::nanoseconds(delay_ns);
  cv_.notify_all();
}

void HealthScheduler::unwatch(const std::string& id) {
  std::lock_guard lock(mu_);
  watches_.erase(id);
  cv_.notify_all();
}

bool HealthScheduler::watching(const std::string& id) const {
  std::lock_guard lock(mu_);
  return watches_.count(id) > 0;
}

void HealthScheduler::loop() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    auto next = Clock::time_point::max();
    std::vector<std::pair<std::string, uint64_t>> due;
    auto now = Clock::now();
    for (auto& [id, w] : watches_) {
      if (w.in_flight) continue;
      if (w.due <= now) {
        w.in_flight = true;
        due.emplace_back(id, w.gen);
      } else {
        next = std::min(next, w.due);
      }
    }
    if (!due.empty()) {
      lock.unlock();
      // The closure owns a copy of run_: a probe may outlive this scheduler's stop().
      for (auto& [id, gen] : due) spawn_([run = run_, id = id, gen = gen] { run(id, gen); });
      lock.lock();
      continue;
    }
    if (next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, next);
    }
  }
}

}  // namespace berth::agent
