// Logging: spdlog, one named logger per part.
#pragma once

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace berth::log {

enum class Format { text, json };

struct Options {
  std::string part;          // "runtime", "shim", "agent", "vmhost"
  std::string file;          // empty: stderr
  Format format = Format::text;
  spdlog::level::level_enum level = spdlog::level::info;
};

// Creates (or replaces) the part's logger and makes it the default one.
std::shared_ptr<spdlog::logger> setup(const Options& options);

// The part's logger; a stderr logger if setup() was not called.
std::shared_ptr<spdlog::logger> get(const std::string& part);

}  // namespace berth::log
