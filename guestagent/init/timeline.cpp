#include "init/timeline.h"

namespace berth::agent::init {

void BootTimeline::init_started(int64_t ms) {
  std::lock_guard lock(mu_);
  init_ms_ = ms;
}

void BootTimeline::add(std::string name, int64_t start_ms, int64_t end_ms) {
  std::lock_guard lock(mu_);
  steps_.push_back({std::move(name), start_ms, end_ms});
}

void BootTimeline::ready(int64_t ms) {
  std::lock_guard lock(mu_);
  ready_ms_ = ms;
}

Json BootTimeline::to_json() const {
  std::lock_guard lock(mu_);
  Json j = Json::object();
  if (init_ms_ >= 0) j["init_ms"] = init_ms_;
  Json steps = Json::array();
  for (const auto& s : steps_) {
    j[s.name + "_ms"] = s.end_ms;
    steps.push_back({{"name", s.name}, {"start_ms", s.start_ms}, {"end_ms", s.end_ms}, {"ms", s.end_ms - s.start_ms}});
  }
  if (ready_ms_ >= 0) j["ready_ms"] = ready_ms_;
  j["steps"] = std::move(steps);
  return j;
}

}  // namespace berth::agent::init
