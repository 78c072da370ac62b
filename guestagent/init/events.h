// What GET /berth/v1/events streams. For now PID 1 publishes only its own state changes
// ("shutdown"); the Docker side will add published ports and container state. Subscribers
// see events published after they subscribed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "berth/common/json.h"

namespace berth::agent::init {

class EventBus {
 public:
  static EventBus& instance();

  // Adds {"seq", "time_ms", "type", ...fields}; wakes streams.
  void publish(const std::string& type, Json fields = Json::object());
  // The sequence number the next event will get: a subscriber's starting point.
  uint64_t next_seq() const;
  // Events with seq >= from, waiting up to `timeout` for one to arrive.
  std::vector<Json> wait(uint64_t from, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Json> recent_;  // the last kKeep events, oldest first
  uint64_t next_ = 1;
};

}  // namespace berth::agent::init
