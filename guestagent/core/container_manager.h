// The containers of one agent: create (Docker config + image → record, rootfs, mounts),
// lifecycle through berth-shim (start, stop, kill, restart, pause, exits, restart policies,
// AutoRemove), attach and exec streams, wait, rename, remove, and reloading everything after
// an agent restart. Records are persisted as <state-root>/containers/<id>/config.json.
//
// Locking: mu_ guards every record and the maps, held only briefly; cv_ announces state
// changes. Each container has an operation mutex serialising its lifecycle operations, which
// may take seconds (stop timeouts) without blocking readers.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "container.h"
#include "events.h"
#include "filters.h"
#include "health.h"
#include "image/image_store.h"
#include "shim_client.h"
#include "volumes.h"

namespace berth::agent {

struct ManagerOptions {
  std::string state_root;
  std::string runtime_bin;   // berth-runtime
  std::string shim_bin;      // berth-shim
  std::string init_bin;      // docker-init/tini for --init; empty: none available
  bool no_pivot = false;     // roots on an initramfs (VM mode)
  std::string machine;       // uname -m
};

struct CreateResult {
  std::string id;
  std::vector<std::string> warnings;
};

// An attached stream to a container's or exec's process, as the shim hands it over.
struct ProcessStream {
  UniqueFd fd;
  std::string read_ahead;  // output that arrived with the shim's answer
  bool tty = false;
};

struct ExecConfig {
  bool attach_stdin = false, attach_stdout = false, attach_stderr = false;
  std::string detach_keys;
  bool tty = false;
  std::vector<int64_t> console_size;
  std::vector<std::string> env;
  std::vector<std::string> cmd;
  bool privileged = false;
  std::string user;
  std::string working_dir;
};

struct ExecState {
  std::string id;
  std::string container_id;
  ExecConfig config;
  bool running = false;
  bool started = false;
  std::optional<int> exit_code;
  int pid = 0;
};

enum class WaitCondition { not_running, next_exit, removed };

class ContainerManager {
 public:
  struct Entry;
  struct PendingAttach;
  // What a wait or an attach registered before its response headers went out, so that a
  // container started (and ended) right after the client saw them is not missed.
  struct WaitToken {
    std::shared_ptr<Entry> entry;
    WaitCondition condition = WaitCondition::not_running;
    uint64_t seq = 0;
    std::optional<int> immediate;  // already satisfied
  };
  struct AttachToken {
    std::shared_ptr<Entry> entry;
    shim::AttachOptions options;
    std::shared_ptr<PendingAttach> pending;  // null: the shim serves it directly
    bool tty = false;
  };

  ContainerManager(ManagerOptions options, image::ImageStore& images, VolumeStore& volumes, EventBus& events);
  ~ContainerManager();

  // Loads every container record, reconnects to live shims and settles containers whose
  // process ended while the agent was away (their exit status from exit.json).
  Status load();

  // Lookup by full id, name (with or without "/"), or unique id prefix.
  Result<Container> get(const std::string& ref) const;
  std::vector<Container> list() const;
  // Containers using an image (for the image store's rmi/prune rules).
  std::optional<image::ImageUse> image_user(const std::string& image_id) const;
  // Execs of a container that the agent still remembers (inspect's ExecIDs).
  std::vector<std::string> exec_ids(const std::string& ref) const;
  // Containers using a volume, by name.
  std::vector<std::string> volume_users(const std::string& volume) const;

  Result<CreateResult> create(const std::string& name, const Json& body);
  // false: it was already running (304).
  Result<bool> start(const std::string& ref);
  // false: it was not running (304). timeout_s nullopt: StopTimeout or 10; -1: forever.
  Result<bool> stop(const std::string& ref, std::optional<int> timeout_s, std::optional<std::string> signal);
  Status kill(const std::string& ref, const std::string& signal);
  Status restart(const std::string& ref, std::optional<int> timeout_s, std::optional<std::string> signal);
  Status pause(const std::string& ref);
  Status unpause(const std::string& ref);
  Status rename(const std::string& ref, const std::string& new_name);
  Status remove(const std::string& ref, bool force, bool remove_volumes);
  Status resize(const std::string& ref, int height, int width);
  // Registers a wait; then wait() blocks until the condition holds, polling `cancelled`
  // (client gone), and gives the exit code.
  Result<WaitToken> prepare_wait(const std::string& ref, WaitCondition condition);
  Result<int> wait(const WaitToken& token, const std::function<bool()>& cancelled);
  // Registers an attach; then attach() gives the stream. For a container that is not running
  // it waits (polling `cancelled`) until the container is started, as dockerd's attach does for
  // `docker run` and `docker start -a`.
  Result<AttachToken> prepare_attach(const std::string& ref, const shim::AttachOptions& options);
  Result<ProcessStream> attach(AttachToken& token, const std::function<bool()>& cancelled);
  void cancel_attach(AttachToken& token);
  // Whether the container's current run has ended (attach/logs followers stop then).
  bool running(const std::string& id) const;
  // PIDs of the container's processes (cgroup).
  Result<std::vector<int>> pids(const std::string& ref);
  // An O_PATH root for docker cp: the live root of a running container, else its rootfs.
  // `path` may be rewritten onto a volume or bind source for a stopped container.
  Result<UniqueFd> open_root(const std::string& ref, std::string& path, bool for_write);
  // Removes stopped containers matching `filters` (until, label). Ids removed, bytes freed.
  Result<std::pair<std::vector<std::string>, uint64_t>> prune(const Filters& filters);

  // Exec.
  Result<std::string> exec_create(const std::string& ref, const ExecConfig& config);
  Result<ExecState> exec_inspect(const std::string& exec_id) const;
  // What exec_start would refuse (unknown exec, already started, container not running), for
  // answering with an HTTP error before the connection is hijacked.
  Status exec_check(const std::string& exec_id) const;
  // Starts it. Attached (detach false): the stream; call exec_finish when it has ended.
  Result<ProcessStream> exec_start(const std::string& exec_id, bool detach, bool tty, std::vector<int64_t> console_size);
  void exec_finish(const std::string& exec_id);
  Status exec_resize(const std::string& exec_id, int height, int width);

  // Counts for /info.
  struct Counts {
    int total = 0, running = 0, paused = 0, stopped = 0;
  };
  Counts counts() const;
  const ManagerOptions& options() const { return o_; }
  std::string container_dir(const std::string& id) const { return o_.state_root + "/containers/" + id; }
  std::string shim_dir(const std::string& id) const { return o_.state_root + "/shims/" + id.substr(0, 12); }
  std::string runtime_root() const { return o_.state_root + "/runtime"; }

  // Stops accepting work (agent shutdown): monitors wind down, containers keep running.
  void shutdown();

 public:
  struct PendingAttach {
    shim::AttachOptions options;
    bool done = false;
    Result<ProcessStream> result = make_error(Errc::internal, "not attached");
  };
  struct Entry {
    std::mutex op;
    Container c;
    uint64_t run_gen = 0;     // bumped at every start; monitors of older runs are ignored
    uint64_t exit_seq = 0;    // bumped at every exit
    bool removed = false;
    bool stopping = false;
    bool shim_ready = false;  // a shim serves this run (created or running): attach directly
    int last_exit_code = 0;   // of the latest exit; waiters read it after a restart began
    int shim_pid = 0;
    int64_t started_mono_ms = 0;
    int restart_delay_ms = 0;
    std::vector<std::shared_ptr<PendingAttach>> pending;
    std::vector<std::string> execs;
  };
  using EntryPtr = std::shared_ptr<Entry>;

 private:

  // mu_ held.
  Result<EntryPtr> find_locked(const std::string& ref) const;
  Status persist_locked(const Entry& e);
  void publish(const Container& c, const std::string& action, std::map<std::string, std::string> extra = {});
  Result<EntryPtr> find(const std::string& ref) const;

  // Lifecycle internals (op lock held).
  Status start_locked(const EntryPtr& e, bool policy_restart);
  Result<bool> stop_locked(const EntryPtr& e, std::optional<int> timeout_s, std::optional<std::string> signal);
  Status remove_locked(const EntryPtr& e, bool force, bool remove_volumes);
  Status prepare_bundle(const EntryPtr& e, std::string& bundle);
  void monitor(const EntryPtr& e, uint64_t gen);
  void handle_exit(const EntryPtr& e, uint64_t gen, int exit_code, const std::string& finished_at, const std::string& error);
  void schedule_restart(const EntryPtr& e, uint64_t exit_seq, int delay_ms);
  Status runtime_cmd(const std::vector<std::string>& args);
  bool wait_exit(const EntryPtr& e, uint64_t seq_before, int timeout_ms);
  Status signal_shim(const EntryPtr& e, int sig, bool all);
  Status copy_up_volumes(const EntryPtr& e);

  // Health checks (manager_health.cpp). health_begin_locked: a run starts (mu_ held): Health
  // back to "starting"; health_watch: its checks are scheduled.
  void health_begin_locked(Entry& e);
  void health_watch(const EntryPtr& e, uint64_t gen);
  void health_probe(const std::string& id, uint64_t gen);
  HealthLogEntry run_probe(const std::string& id, const HealthConfig& config);

  ManagerOptions o_;
  image::ImageStore& images_;
  VolumeStore& volumes_;
  EventBus& events_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, EntryPtr> by_id_;
  std::map<std::string, std::string> by_name_;  // "/name" → id
  std::map<std::string, std::shared_ptr<ExecState>> execs_;
  bool shutting_down_ = false;
  // Last: destroyed (its thread joined) before the maps its probes look at.
  HealthScheduler health_;
};

}  // namespace berth::agent
