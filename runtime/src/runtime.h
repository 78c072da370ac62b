// libberth-runtime: the OCI runtime operations behind the runc-compatible CLI. The CLI and the
// shim both call these; errors come back as Result and the CLI turns them into exit status 1.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/oci/spec.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "state.h"

namespace berth::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct ExecOptions {
  std::string id;
  std::string process_file;         // --process: a Process JSON
  std::vector<std::string> args;    // used when no --process
  bool tty = false;
  std::string cwd;
  std::vector<std::string> env;
  std::string user;                 // uid[:gid]
  std::vector<uint32_t> additional_gids;
  std::vector<std::string> caps;
  bool no_new_privs = false;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
};

struct ResourceFlags {  // `update` flags, overriding --resources
  std::optional<int64_t> memory, memory_swap, memory_reservation, kernel_memory, cpu_quota, cpu_rt_runtime, pids_limit;
  std::optional<uint64_t> cpu_shares, cpu_period, cpu_rt_period;
  std::optional<uint16_t> blkio_weight;
  std::optional<std::string> cpuset_cpus, cpuset_mems;
};

class Runtime {
 public:
  explicit Runtime(std::string root) : paths_{std::move(root)} {}

  // create: leaves init waiting for start. Returns its pid.
  Result<pid_t> create(const CreateOptions& options);
  Status start(const std::string& id);
  // run: create + start; with detach returns 0 once started, otherwise waits and returns the
  // container's exit status (128+signal when killed) and removes the container.
  Result<int> run(const CreateOptions& options, bool detach);
  Result<OrderedJson> state(const std::string& id);
  Result<std::vector<OrderedJson>> list();
  Status kill(const std::string& id, int signal, bool all);
  Status remove(const std::string& id, bool force);
  Status pause(const std::string& id);
  Status resume(const std::string& id);
  Result<std::vector<pid_t>> pids(const std::string& id);
  Status update(const std::string& id, const std::optional<oci::LinuxResources>& resources, const ResourceFlags& flags);
  // exec: with detach returns 0 once the process runs; otherwise its exit status.
  Result<int> exec(const ExecOptions& options);

  const RuntimePaths& paths() const { return paths_; }

 private:
  struct Created {
    pid_t pid = 0;
    UniqueFd console_master;  // foreground run with a terminal and no --console-socket
  };
  Result<Created> create_impl(const CreateOptions& options, bool internal_console);

  RuntimePaths paths_;
};

// "KILL", "SIGKILL", "9" → 9.
Result<int> parse_signal(const std::string& text);

// Waits for `pid` (our child) while forwarding signals to it and, when `console_master` is
// valid, relaying the terminal. Returns the exit status as a shell would.
int wait_foreground(pid_t pid, UniqueFd console_master);

// Re-executes the runtime from a sealed memfd copy of itself, so nothing a container does
// to /proc/<pid>/exe can reach the real binary. No-op when already cloned.
void ensure_cloned_binary(int argc, char** argv);

}  // namespace berth::runtime
