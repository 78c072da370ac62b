// The shim's state while it serves one container: the processes it runs (the init and its
// execs) with their stdio, and the agent's connections. Everything runs on one thread around
// one EventLoop; nothing blocks except the short berth-runtime calls.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "berth/shim/protocol.h"
#include "event_loop.h"
#include "json_log.h"
#include "options.h"
#include "runtime_cli.h"

namespace berth::shim {

// A process whose stdio the shim owns: the container's init (exec_id "") or an exec.
struct Proc {
  std::string exec_id;
  bool tty = false;
  bool stdin_once = false;
  pid_t pid = 0;
  UniqueFd in;    // our end of its stdin: a pipe's write end, or a dup of the pty master
  UniqueFd out;   // stdout pipe's read end, or the pty master
  UniqueFd err;   // stderr pipe's read end (none with a pty)
  uint64_t in_token = 0, out_token = 0, err_token = 0;
  std::string stdin_buffer;        // attacher input the process has not taken yet
  bool stdin_closing = false;      // close `in` once stdin_buffer is written
  bool stdin_released = false;     // stdin-once: the first stdin attacher has left
  bool started = false;
  bool exited = false;
  bool done = false;               // exited and output drained: waiters answered, attachers ended
  int exit_code = 0;
  int exit_signal = 0;
  std::string started_at, finished_at;
  int64_t drain_deadline = 0;      // monotonic ms by which its output must have ended
  std::vector<uint64_t> attachers;  // connection ids
  std::vector<uint64_t> waiters;
};

// One client of shim.sock.
struct Conn {
  enum class Mode { requests, waiting, attached };
  uint64_t id = 0;
  UniqueFd fd;
  uint64_t token = 0;
  Mode mode = Mode::requests;
  std::string in;                  // bytes not yet parsed as request lines
  std::string out;                 // bytes not yet written to the client
  std::string exec_id;             // waiting / attached: whose process
  AttachOptions attach;
  bool multiplexed = false;
  bool input_closed = false;       // the client sent EOF
  bool input_paused = false;       // the process's stdin is full: stop reading
  bool close_when_flushed = false;
  bool dead = false;               // closed; destroyed after the current event
};

class Shim {
 public:
  explicit Shim(Options options);
  Shim(const Shim&) = delete;
  Shim& operator=(const Shim&) = delete;

  // Creates the container (starting it unless --no-start), then opens shim.sock and writes
  // shim.pid. Returns the init's pid. On failure nothing of the container is left.
  Result<pid_t> launch();
  // Serves until the container has ended and every client got its output; returns the
  // shim's exit status.
  int serve();

 private:
  // launch.cpp
  Status prepare();
  Status create_container();
  Status start_container();
  void abandon_container();
  void remove_runtime_files();
  std::string state_path(std::string_view name) const { return o_.state_dir + "/" + std::string(name); }

  // stdio.cpp: the processes' pipes and terminals
  Status watch_proc(Proc& p);
  void on_output(Proc& p, Stream stream);
  void close_output(Proc& p, Stream stream);
  void broadcast(Proc& p, Stream stream, std::string_view data);
  void feed_stdin(Proc& p, std::string_view data);
  void write_stdin(Proc& p);
  void close_stdin(Proc& p);
  void set_stdin_paused(Proc& p, bool paused);

  // lifecycle.cpp: exits, the end of a process and of the shim
  void on_sigchld();
  void check_done(Proc& p);
  void finish(Proc& p);
  void run_deadlines();
  int next_timeout() const;
  bool may_exit() const;
  void forget_old_execs();
  void cleanup_files();

  // connection.cpp
  void on_accept();
  void on_conn_event(uint64_t id, uint32_t events);
  void on_conn_data(Conn& c, std::string_view data);
  void on_conn_eof(Conn& c);
  void process_lines(Conn& c);
  void send(Conn& c, std::string_view data);
  void flush(Conn& c);
  void update_events(Conn& c);
  void kill_conn(Conn& c);
  void release_stdin(Conn& c);
  void reap_conns();
  Conn* conn(uint64_t id);

  // requests.cpp
  void handle_request(Conn& c, std::string_view line);
  Result<Json> op_state(const Request& r);
  Status op_start();
  Result<Json> op_attach(Conn& c, const Request& r);
  Status op_resize(const Request& r);
  Status op_signal(const Request& r);
  Result<Json> op_wait(Conn& c, const Request& r);
  Status op_close_stdin(const Request& r);
  Result<Proc*> find_proc(const std::string& exec_id);
  ProcessState proc_state(const Proc& p) const;
  Json wait_answer(const Proc& p) const;

  // exec.cpp
  Result<Json> op_exec(Conn& c, const Request& r);

  Options o_;
  RuntimeCli rt_;
  std::optional<EventLoop> loop_;
  UniqueFd signal_fd_;
  UniqueFd listener_;
  UniqueFd console_listener_;
  std::optional<JsonFileLog> log_;
  bool log_failed_ = false;  // report a failing log once, not per line
  bool created_ = false;
  Proc init_;
  std::map<std::string, std::unique_ptr<Proc>> execs_;
  std::vector<std::string> finished_execs_;  // oldest first, for forget_old_execs
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<uint64_t> dead_conns_;
  uint64_t next_conn_id_ = 1;
  bool exiting_ = false;     // the init is done: leave once clients have their output
  int64_t exit_deadline_ = 0;
};

}  // namespace berth::shim
