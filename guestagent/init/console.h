// Boot progress and errors on the console, stamped with the time since the kernel started.
// CLOCK_BOOTTIME runs from the kernel's timekeeping start, the base of the kernel's own
// "[    1.234567]" stamps, so agent lines read in one timeline with the kernel's.
#pragma once

#include <cstdint>
#include <memory>

#include <spdlog/logger.h>

namespace berth::agent::init {

// Milliseconds since the kernel started (CLOCK_BOOTTIME).
int64_t boot_ms();

// Makes "agent" (the part's logger, which every agent module uses) write to `fd`, normally
// the console PID 1 inherits as stdout: "[   0.812] berth-agent: message". Returns it.
std::shared_ptr<spdlog::logger> setup_console_log(int fd);

// The "agent" logger.
std::shared_ptr<spdlog::logger> logger();

}  // namespace berth::agent::init
