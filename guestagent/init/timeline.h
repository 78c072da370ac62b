// The boot timeline GET /berth/v1/ready reports: when each boot step ran, in milliseconds
// since the kernel started (CLOCK_BOOTTIME), so the host can tell kernel time from agent
// time and see which step a slow boot spent its time in.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "berth/common/json.h"

namespace berth::agent::init {

class BootTimeline {
 public:
  struct Step {
    std::string name;
    int64_t start_ms = 0;
    int64_t end_ms = 0;
  };

  // When PID 1 started: the kernel's share of the boot.
  void init_started(int64_t ms);
  // A finished step; steps may overlap (the network comes up while the disk is prepared).
  void add(std::string name, int64_t start_ms, int64_t end_ms);
  void ready(int64_t ms);

  // Steps PID 1 records: mounts, modules_disk (up to the data disk's driver), disk (on a
  // thread from then on), modules_net (up to the network's), net (on a thread from then on),
  // modules (the other device drivers), modules_late (on a thread), shares (only with
  // berth.mount=).
  // {"init_ms": 480, "modules_ms": 610, "disk_ms": 700, "net_ms": 650, "ready_ms": 720,
  //  "steps": [{"name": "modules", "start_ms": 481, "end_ms": 610, "ms": 129}, ...]}
  // Top-level "<step>_ms" values are the moments each step finished; "ms" in "steps" is its
  // duration. A step that did not run has no top-level key.
  Json to_json() const;

 private:
  mutable std::mutex mu_;
  int64_t init_ms_ = -1;
  int64_t ready_ms_ = -1;
  std::vector<Step> steps_;
};

}  // namespace berth::agent::init
