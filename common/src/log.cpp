#include "berth/common/log.h"

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <nlohmann/json.hpp>

namespace berth::log {

namespace {

// One JSON object per line in the shape runc writes with --log-format json; containerd
// parses "level" and "msg", so the message must be properly escaped.
class JsonFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JsonFileSink(const std::string& path) { file_.open(path, /*truncate=*/false); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto secs = std::chrono::time_point_cast<std::chrono::seconds>(msg.time);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(msg.time - secs).count();
    std::time_t t = std::chrono::system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[64];
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long>(micros));
    nlohmann::ordered_json line;
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size()) == "warning" ? "warning" : std::string(level.data(), level.size());
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    line["time"] = when;
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    spdlog::memory_buf_t buf;
    buf.append(text.data(), text.data() + text.size());
    file_.write(buf);
  }
  void flush_() override { file_.flush(); }

 private:
  spdlog::details::file_helper file_;
};

}  // namespace

std::shared_ptr<spdlog::logger> setup(const Options& options) {
  spdlog::drop(options.part);
  spdlog::sink_ptr sink;
  bool json = options.format == Format::json && !options.file.empty();
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else if (json) {
    sink = std::make_shared<JsonFileSink>(options.file);
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, /*truncate=*/false);
  }
  auto logger = std::make_shared<spdlog::logger>(options.part, sink);
  if (!json) logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
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
