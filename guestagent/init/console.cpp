#include "init/console.h"

#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "berth/common/log.h"

namespace berth::agent::init {

namespace {

// One write(2) per line straight to the console fd: no stdio buffering that a crash or an
// exec of the emergency shell could lose, and lines from threads never interleave.
class ConsoleSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ConsoleSink(int fd) : fd_(fd) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    int64_t ms = boot_ms();
    char stamp[32];
    std::snprintf(stamp, sizeof stamp, "[%5lld.%03lld] ", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    std::string line = stamp;
    line += "berth-agent: ";
    if (msg.level >= spdlog::level::err) {
      line += "ERROR: ";
    } else if (msg.level == spdlog::level::warn) {
      line += "warning: ";
    }
    line.append(msg.payload.data(), msg.payload.size());
    line += '\n';
    size_t off = 0;
    while (off < line.size()) {
      ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  void flush_() override {}

 private:
  int fd_;
};

}  // namespace

int64_t boot_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

namespace {
// Held here as well as registered: berth-agent links spdlog twice (the shared library via
// berth-common and an embedded copy via berth-common-static), so the registry that
// log::get() consults need not be the one register_logger() filled.
std::shared_ptr<spdlog::logger>& console_logger() {
  static auto* l = new std::shared_ptr<spdlog::logger>;
  return *l;
}
}  // namespace

std::shared_ptr<spdlog::logger> setup_console_log(int fd) {
  spdlog::drop("agent");
  auto logger = std::make_shared<spdlog::logger>("agent", std::make_shared<ConsoleSink>(fd));
  logger->set_level(spdlog::level::info);
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  console_logger() = logger;
  return logger;
}

std::shared_ptr<spdlog::logger> logger() {
  if (auto& l = console_logger()) return l;
  return log::get("agent");
}

}  // namespace berth::agent::init
