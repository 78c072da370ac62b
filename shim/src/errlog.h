// The shim's own diagnostics: one line each on stderr, which a detached shim points at
// <state-dir>/shim.log. Not spdlog: linking it (a shared library here) would add more than a
// mebibyte of RSS to a process that runs once per container (see shim/README.md).
#pragma once

#include <string>
#include <string_view>

namespace berth::shim::errlog {

// Every message carries the container id.
void set_container(std::string id);
void error(std::string_view message);
void warn(std::string_view message);
void info(std::string_view message);

}  // namespace berth::shim::errlog
