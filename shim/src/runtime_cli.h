// Driving berth-runtime through its runc-compatible command line, as containerd's shim drives
// runc: `create` forks the container's init and exits, so the init is reparented to the shim
// (a child subreaper); `exec --detach` does the same for exec'd processes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "berth/common/result.h"
#include "child_process.h"

namespace berth::shim {

struct RuntimeCli {
  std::string binary;    // berth-runtime
  std::string root;      // --root
  std::string log_file;  // --log, in JSON: where the runtime's error messages are read from
};

// binary --root R --log L --log-format json <verb_args...>
std::vector<std::string> runtime_argv(const RuntimeCli& rt, const std::vector<std::string>& verb_args);

// Runs the runtime to completion. A non-zero exit becomes an error carrying the runtime's own
// message (the last error it logged during this call).
Status run_runtime(const RuntimeCli& rt, const std::vector<std::string>& verb_args, const ChildStdio& stdio);

// The message of the last "error" entry in runtime log text (JSON lines {"level","msg",...});
// "" if there is none.
std::string last_runtime_error(std::string_view log_text);

}  // namespace berth::shim
