#include "berth/common/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace berth::log {

std::shared_ptr<spdlog::logger> setup(const Options& options) {
  spdlog::drop(options.part);
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
  }
  auto logger = std::make_shared<spdlog::logger>(options.part, sink);
  if (options.format == Format::json) {
    // The shape runc writes with --log-format json; containerd parses "level" and "msg".
    logger->set_pattern(R"({"level":"%l","msg":"%v","time":"%Y-%m-%dT%H:%M:%S.%fZ"})", spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  logger->set_level(options.level);
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  spdlog::set_default_logger(logger);
  return logger;
}

std::shared_ptr<spdlog::logger> get(const std::string& part) {
  if (auto existing = spdlog::get(part)) return existing;
  auto logger = std::make_shared<spdlog::logger>(part, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace berth::log
