// The daemon's event stream (GET /events): container, image, volume and network events,
// kept in a bounded history for `since` and delivered to live subscribers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "filters.h"

namespace berth::agent {

struct Event {
  std::string type;    // container, image, volume, network, daemon
  std::string action;  // create, start, die, exec_start: sh, …
  std::string id;      // Actor.ID
  std::map<std::string, std::string> attributes;
  int64_t time_nano = 0;
};

// dockerd's JSON message, with the legacy status/id/from members for container and image
// events that older clients read.
Json to_json(const Event& e);
// Filters of GET /events: type, event, container, image, label, volume, network, daemon, scope.
bool event_matches(const Event& e, const Filters& f);

class EventBus {
 public:
  explicit EventBus(size_t history = 1024);

  void publish(Event e);  // time_nano filled in when 0

  class Subscription {
   public:
    // The next event, waiting at most timeout_ms; nullopt on timeout.
    std::optional<Event> next(int timeout_ms);

   private:
    friend class EventBus;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Event> queue;
    bool overflow = false;
  };

  // Subscribes, returning events since `since_ns` from the history too (in order, before
  // any new one). Unsubscribe by dropping the pointer and calling unsubscribe().
  std::shared_ptr<Subscription> subscribe(int64_t since_ns, std::vector<Event>& past);
  void unsubscribe(const std::shared_ptr<Subscription>& s);

 private:
  std::mutex mu_;
  size_t max_history_;
  std::deque<Event> history_;
  std::vector<std::shared_ptr<Subscription>> subs_;
};

}  // namespace berth::agent
