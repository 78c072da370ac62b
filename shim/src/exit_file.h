// exit.json: the init's exit status and times, written atomically before the shim exits so a
// restarted agent (or one that was not connected) still learns how the container ended.
#pragma once

#include <string>

#include "berth/common/result.h"
#include "berth/shim/protocol.h"

namespace berth::shim {

Status write_exit_file(const std::string& path, const ExitRecord& record);
Result<ExitRecord> read_exit_file(const std::string& path);

// A waitpid() status as Docker reports it: the exit status, or 128+signal when killed.
// Sets *signal to the signal (0 when the process exited).
int exit_code_from_wait_status(int wait_status, int* signal);

}  // namespace berth::shim
