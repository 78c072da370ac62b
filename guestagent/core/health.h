// Container health checks as dockerd runs them (HEALTHCHECK / create's Healthcheck): the
// state kept in State.Health, the rules that turn probe results into healthy/unhealthy, and
// one scheduler thread that says when each running container's next probe is due. The probe
// itself (an exec in the container) is the container manager's (manager_health.cpp).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "berth/common/json.h"
#include "container_config.h"

namespace berth::agent {

// dockerd's defaults (daemon/health.go) for fields left at 0.
inline constexpr int64_t kDefaultProbeIntervalNs = 30'000'000'000;
inline constexpr int64_t kDefaultProbeTimeoutNs = 30'000'000'000;
inline constexpr int64_t kDefaultStartIntervalNs = 5'000'000'000;
inline constexpr int64_t kDefaultProbeRetries = 3;
inline constexpr size_t kMaxHealthLogEntries = 5;
inline constexpr size_t kMaxHealthOutput = 4096;

inline constexpr const char* kHealthStarting = "starting";
inline constexpr const char* kHealthHealthy = "healthy";
inline constexpr const char* kHealthUnhealthy = "unhealthy";

// One probe: Docker's HealthcheckResult.
struct HealthLogEntry {
  std::string start, end;  // RFC 3339
  int exit_code = 0;       // 0 healthy; -1: could not run or timed out
  std::string output;      // at most kMaxHealthOutput bytes, then "..."
};

// State.Health.
struct HealthState {
  std::string status = kHealthStarting;
  int failing_streak = 0;
  std::vector<HealthLogEntry> log;  // the last kMaxHealthLogEntries
};

Json to_json(const HealthState& h);

// A test that runs something: not empty, not ["NONE"], CMD or CMD-SHELL.
bool health_enabled(const std::optional<HealthConfig>& h);
// The exec's argv: CMD's arguments as they are, CMD-SHELL's string through /bin/sh -c.
std::vector<std::string> probe_command(const std::vector<std::string>& test);
int64_t probe_timeout_ns(const HealthConfig& h);

// Delay before the next probe, `since_start_ns` after the container started: the start
// interval while in the start period and not yet healthy, else the interval.
int64_t next_probe_delay_ns(const HealthConfig& h, const HealthState& s, int64_t since_start_ns);

// Records one result (dockerd's handleProbeResult); `since_start_ns` is when the probe began,
// relative to the container's start. A failure during the start period does not count while
// the container is still starting. Returns whether Status changed.
bool record_probe(HealthState& s, const HealthConfig& h, HealthLogEntry entry, int64_t since_start_ns);

// Appends probe output, keeping at most kMaxHealthOutput bytes; `truncated` set when some was
// dropped (the log shows "..." then, as dockerd's limitedBuffer does).
void append_probe_output(std::string& out, std::string_view data, bool& truncated);

// What `docker ps` adds after "Up 3 minutes": "healthy", "unhealthy", "health: starting".
std::string health_summary(const std::string& status);

// Go's Duration.String() for whole seconds or milliseconds ("30s", "1.5s", "500ms"), for the
// timeout message.
std::string go_duration(int64_t ns);

// When each watched container's next probe is due, on one thread. A due probe is handed to
// `run` on a short-lived thread (a probe may block up to its timeout, and containers must not
// wait for each other); `run` calls rearm() when it is done, so a container has at most one
// probe at a time. unwatch() (stop, exit, remove) drops the container: a probe already running
// finds its rearm ignored.
class HealthScheduler {
 public:
  using Run = std::function<void(const std::string& id, uint64_t gen)>;
  using Spawn = std::function<void(std::function<void()>)>;
  // `spawn` starts a thread for one probe (tests may run it inline).
  HealthScheduler(Run run, Spawn spawn);
  ~HealthScheduler();
  HealthScheduler(const HealthScheduler&) = delete;
  HealthScheduler& operator=(const HealthScheduler&) = delete;

  // (Re)starts checks of a container's run `gen`: the first probe after `delay_ns`.
  void watch(const std::string& id, uint64_t gen, int64_t delay_ns);
  // After a probe of run `gen`: the next one after `delay_ns`, unless unwatched or re-watched.
  void rearm(const std::string& id, uint64_t gen, int64_t delay_ns);
  void unwatch(const std::string& id);
  bool watching(const std::string& id) const;
  // Ends the thread; nothing is started after it returns.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;
  struct Watch {
    uint64_t gen = 0;
    bool in_flight = false;
    Clock::time_point due;
  };
  void loop();

  Run run_;
  Spawn spawn_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Watch> watches_;
  std::thread thread_;  // started with the first watch
  bool stopped_ = false;
};

}  // namespace berth::agent
