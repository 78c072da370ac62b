// The few process-level facilities that differ between Linux and macOS. Declared here,
// implemented in backends/linux/ (and backends/macos/ later), chosen by CMake — so no
// platform #ifdefs outside backends/.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "berth/common/result.h"

namespace berth::platform {

// Absolute path of the running executable ("" when unknown).
std::string executable_path();

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path (no PATH search)
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: the same as stdout
  std::vector<std::pair<int, int>> extra_fds;  // {fd here, fd number in the child}
  // The child is killed when this process dies, however it dies: QEMU and virtiofsd must
  // not outlive the vmhost that accounts for them.
  bool die_with_parent = false;
  bool new_session = false;  // setsid(): detached from the terminal
};

// fork + exec; an exec failure is reported as an error (via a pipe), not as a child that
// exits 127.
Result<pid_t> spawn(const SpawnOptions& options);

// Whether `pid` runs with `needle` somewhere in its command line: recognises a QEMU or
// virtiofsd of this instance left behind by a crashed host process.
bool process_cmdline_contains(pid_t pid, std::string_view needle);

}  // namespace berth::platform
