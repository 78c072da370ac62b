#include "init/events.h"

#include "init/console.h"

namespace berth::agent::init {

namespace {
// A stream that fell this far behind has lost events; it is a notification channel, not a log.
constexpr size_t kKeep = 256;
}  // namespace

EventBus& EventBus::instance() {
  static EventBus* bus = new EventBus;
  return *bus;
}

void EventBus::publish(const std::string& type, Json fields) {
  {
    std::lock_guard lock(mu_);
    Json e = {{"seq", next_++}, {"time_ms", boot_ms()}, {"type", type}};
    for (auto& [k, v] : fields.items()) e[k] = v;
    recent_.push_back(std::move(e));
    if (recent_.size() > kKeep) recent_.pop_front();
  }
  cv_.notify_all();
}

uint64_t EventBus::next_seq() const {
  std::lock_guard lock(mu_);
  return next_;
}

std::vector<Json> EventBus::wait(uint64_t from, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return next_ > from; });
  std::vector<Json> out;
  for (const auto& e : recent_)
    if (e["seq"].get<uint64_t>() >= from) out.push_back(e);
  return out;
}

}  // namespace berth::agent::init
