#include "events.h"

#include <algorithm>

#include "ids.h"

namespace berth::agent {

Json to_json(const Event& e) {
  Json attrs = Json::object();
  for (const auto& [k, v] : e.attributes) attrs[k] = v;
  Json j = Json::object();
  if (e.type == "container" || e.type == "image") {
    j["status"] = e.action;
    j["id"] = e.id;
    if (e.type == "container") {
      auto it = e.attributes.find("image");
      if (it != e.attributes.end()) j["from"] = it->second;
    }
  }
  j["Type"] = e.type;
  j["Action"] = e.action;
  j["Actor"] = {{"ID", e.id}, {"Attributes", attrs}};
  j["scope"] = "local";
  j["time"] = e.time_nano / 1000000000;
  j["timeNano"] = e.time_nano;
  return j;
}

bool event_matches(const Event& e, const Filters& f) {
  if (!f.match_exact("type", e.type)) return false;
  if (f.has("event")) {
    // "exec_start: sh -c …" matches the filter "exec_start".
    std::string base = e.action.substr(0, e.action.find(':'));
    if (!f.match_exact("event", e.action) && !f.match_exact("event", base)) return false;
  }
  if (!f.match_labels("label", e.attributes)) return false;
  if (!f.match_exact("scope", "local")) return false;
  auto attr = [&](const char* k) {
    auto it = e.attributes.find(k);
    return it == e.attributes.end() ? std::string() : it->second;
  };
  if (f.has("container")) {
    if (e.type != "container") return false;
    bool hit = false;
    for (const auto& v : f.get("container"))
      if (v == attr("name") || (!v.empty() && e.id.rfind(v, 0) == 0)) hit = true;
    if (!hit) return false;
  }
  if (f.has("image")) {
    std::string image = e.type == "image" ? e.id : attr("image");
    bool hit = false;
    for (const auto& v : f.get("image"))
      if (v == image || v == attr("name") || (e.type == "image" && image.find(v) != std::string::npos)) hit = true;
    if (!hit) return false;
  }
  if (f.has("volume")) {
    if (e.type != "volume" || !f.match_exact("volume", e.id)) return false;
  }
  if (f.has("network")) {
    if (e.type != "network" || !f.match_exact("network", e.id)) return false;
  }
  if (f.has("daemon") && e.type != "daemon") return false;
  return true;
}

EventBus::EventBus(size_t history) : max_history_(history) {}

void EventBus::publish(Event e) {
  if (e.time_nano == 0) e.time_nano = now_ns();
  std::lock_guard lock(mu_);
  history_.push_back(e);
  while (history_.size() > max_history_) history_.pop_front();
  for (auto& s : subs_) {
    std::lock_guard sl(s->mu);
    if (s->queue.size() > 4096) {
      s->overflow = true;
      continue;
    }
    s->queue.push_back(e);
    s->cv.notify_one();
  }
}

std::shared_ptr<EventBus::Subscription> EventBus::subscribe(int64_t since_ns, std::vector<Event>& past) {
  auto s = std::make_shared<Subscription>();
  std::lock_guard lock(mu_);
  past.clear();
  for (const auto& e : history_)
    if (e.time_nano >= since_ns) past.push_back(e);
  subs_.push_back(s);
  return s;
}

void EventBus::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
}

std::optional<Event> EventBus::Subscription::next(int timeout_ms) {
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !queue.empty(); })) return std::nullopt;
  Event e = std::move(queue.front());
  queue.pop_front();
  return e;
}

}  // namespace berth::agent
