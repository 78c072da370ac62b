// berth-shim's command line (documented in shim/README.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "berth/common/result.h"

namespace berth::shim {

struct Options {
  std::string id;            // container id, as the runtime knows it
  std::string bundle;        // OCI bundle (config.json + rootfs)
  std::string state_dir;     // the shim's own files (shim.sock, shim.pid, exit.json, ...)
  std::string runtime;       // path of the berth-runtime binary
  std::string runtime_root;  // berth-runtime --root
  bool tty = false;          // process.terminal: the init gets a pty
  bool open_stdin = false;   // Docker OpenStdin: keep a stdin the attachers can write
  bool stdin_once = false;   // Docker StdinOnce: close it when the first stdin attacher leaves
  bool no_start = false;     // create only; a `start` request starts it (attach first, lose nothing)
  bool no_pivot = false;     // berth-runtime create --no-pivot (roots on an initramfs)
  bool no_log = false;       // Docker's log driver "none"
  std::string log_path;      // default <state-dir>/container.log
  uint64_t log_max_size = 0;  // 0: never rotate
  int log_max_files = 1;
};

// Parses argv[1..]. "--help" yields an Errc::invalid_argument whose message is the usage text.
Result<Options> parse_options(const std::vector<std::string>& args);
// "10m" → 10485760 (k, m, g are powers of 1024, as Docker's max-size).
Result<uint64_t> parse_size(const std::string& text);
const char* usage();

}  // namespace berth::shim
