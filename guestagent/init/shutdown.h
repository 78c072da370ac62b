// Turning the VM off cleanly: stop every process, flush, unmount the data disk and the
// shares (so the ext4 journal is clean and the next boot needs no e2fsck), power off.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace berth::agent::init {

// The default container stop: SIGTERM to every process but PID 1, up to `budget` for them
// to exit, then SIGKILL. The Docker side replaces it (Pid1Options::stop_containers) with
// per-container stop signals and timeouts.
void terminate_all_processes(std::chrono::milliseconds budget);

// True while PID 1 has any child (running or zombie). Every process in the VM descends from
// PID 1 and orphans come back to it, so no children means no processes.
bool any_process_left();

// Unmounts everything at or below each of `roots` (deepest first), logging each root; a busy
// file system is remounted read-only so its data is still safe on disk.
void unmount_all(const std::vector<std::string>& roots);

// sync, then reboot(RB_POWER_OFF). Never returns.
[[noreturn]] void power_off();

}  // namespace berth::agent::init
