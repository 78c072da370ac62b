// Logging for the vsock device: the vmhost part's logger, each message tagged with the
// instance it belongs to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace berth::vsock {

class Log {
 public:
  Log() = default;
  Log(std::shared_ptr<spdlog::logger> logger, std::string id) : logger_(std::move(logger)), id_(std::move(id)) {}

  template <class... Args>
  void debug(fmt::format_string<Args...> f, Args&&... args) const {
    write(spdlog::level::debug, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void info(fmt::format_string<Args...> f, Args&&... args) const {
    write(spdlog::level::info, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void warn(fmt::format_string<Args...> f, Args&&... args) const {
    write(spdlog::level::warn, f, std::forward<Args>(args)...);
  }
  template <class... Args>
  void error(fmt::format_string<Args...> f, Args&&... args) const {
    write(spdlog::level::err, f, std::forward<Args>(args)...);
  }

 private:
  template <class... Args>
  void write(spdlog::level::level_enum level, fmt::format_string<Args...> f, Args&&... args) const {
    if (!logger_ || !logger_->should_log(level)) return;
    logger_->log(level, "vsock[{}] {}", id_, fmt::format(f, std::forward<Args>(args)...));
  }

  std::shared_ptr<spdlog::logger> logger_;
  std::string id_;
};

// A guest can produce bad input at line rate; this keeps its complaints from filling the
// disk while still showing that it keeps happening.
class LogLimiter {
 public:
  bool allow() {
    ++count_;
    return count_ <= 20 || count_ % 1000 == 0;
  }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace berth::vsock
