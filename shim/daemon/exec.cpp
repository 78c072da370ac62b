// exec: a new process in the container via `berth-runtime exec --detach`, with its own stdio
// (pipes, or a pty received on the console socket), attach stream and exit status.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "berth/common/fs.h"
#include "errlog.h"
#include "shim.h"
#include "child_process.h"
#include "timefmt.h"
#include "unix_socket.h"

namespace berth::shim {

namespace {

constexpr int kConsoleTimeoutMs = 10000;

// Exec ids name files in the state directory.
Status validate_exec_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return make_error(Errc::invalid_argument, "exec: id must be 1 to 64 characters");
  for (char ch : id) {
    bool good = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
    if (!good) return make_error(Errc::invalid_argument, "exec: id \"" + id + "\" may only hold letters, digits, '-', '_' and '.'");
  }
  if (id[0] == '.') return make_error(Errc::invalid_argument, "exec: id must not start with '.'");
  return ok();
}

Result<bool> process_terminal(const Json& process) {
  auto it = process.find("terminal");
  if (it == process.end() || it->is_null()) return false;
  if (!it->is_boolean()) return make_error(Errc::invalid_argument, "process.terminal: expected boolean");
  return it->get<bool>();
}

}  // namespace

Result<Json> Shim::op_exec(Conn& c, const Request& r) {
  auto started = [&]() -> Result<Proc*> {
    BERTH_TRY(validate_exec_id(r.exec));
    if (execs_.count(r.exec)) return make_error(Errc::already_exists, "exec \"" + r.exec + "\" already exists");
    if (!init_.started || init_.exited) return make_error(Errc::conflict, "exec: container " + o_.id + " is not running");
    auto p = std::make_unique<Proc>();
    p->exec_id = r.exec;
    p->tty = BERTH_TRY(process_terminal(r.process));
    // Docker closes an exec's stdin when its attacher's input ends.
    p->stdin_once = true;

    const std::string process_file = state_path("exec-" + r.exec + ".json");
    const std::string pid_file = state_path("exec-" + r.exec + ".pid");
    auto remove_files = [&] {
      ::unlink(process_file.c_str());
      ::unlink(pid_file.c_str());
    };
    BERTH_TRY(fs::write_file(process_file, r.process.dump(), 0600));

    UniqueFd child_in, child_out, child_err;
    auto pipes = [&]() -> Status {
      if (p->tty) {
        if (!console_listener_) console_listener_ = BERTH_TRY(listen_unix(state_path(kConsoleSocketFile), 4));
        return ok();
      }
      if (r.exec_stdin) {
        auto in = BERTH_TRY(make_pipe());
        child_in = std::move(in.first);
        p->in = std::move(in.second);
        BERTH_TRY(set_nonblocking(p->in.get()));
      }
      auto out = BERTH_TRY(make_pipe());
      auto err = BERTH_TRY(make_pipe());
      p->out = std::move(out.first);
      child_out = std::move(out.second);
      p->err = std::move(err.first);
      child_err = std::move(err.second);
      BERTH_TRY(set_nonblocking(p->out.get()));
      return set_nonblocking(p->err.get());
    }();
    if (!pipes) {
      remove_files();
      return tl::unexpected(pipes.error());
    }

    std::vector<std::string> args = {"exec", "--process", process_file, "--detach", "--pid-file", pid_file};
    if (p->tty) args.insert(args.end(), {"--console-socket", state_path(kConsoleSocketFile)});
    args.push_back(o_.id);
    Status st = run_runtime(rt_, args, ChildStdio{child_in.get(), child_out.get(), child_err.get()});
    child_in.reset();
    child_out.reset();
    child_err.reset();
    if (!st) {
      if (console_listener_) drain_connections(console_listener_.get());
      remove_files();
      return tl::unexpected(st.error().context("exec"));
    }
    auto pid_text = fs::read_file(pid_file);
    long pid = 0;
    try {
      pid = pid_text ? std::stol(*pid_text) : 0;
    } catch (const std::exception&) {
    }
    if (pid <= 0) {
      remove_files();
      return make_error(Errc::protocol, "exec: the runtime wrote no pid to " + pid_file);
    }
    p->pid = static_cast<pid_t>(pid);
    if (p->tty) {
      auto master = receive_console(console_listener_.get(), kConsoleTimeoutMs);
      if (master) {
        p->out = std::move(*master);
        if (auto nb = set_nonblocking(p->out.get()); !nb) master = tl::unexpected(nb.error());
      }
      if (master && r.exec_stdin) {
        p->in.reset(::fcntl(p->out.get(), F_DUPFD_CLOEXEC, 3));
        if (!p->in) master = sys_error("dup pty master");
      }
      if (!master) {
        // It runs, but without its terminal nobody could talk to it; it is reaped as an orphan.
        ::kill(p->pid, SIGKILL);
        remove_files();
        return tl::unexpected(master.error().context("exec"));
      }
    }
    p->started = true;
    p->started_at = rfc3339_nano(wall_now());
    Proc* proc = p.get();
    execs_.emplace(r.exec, std::move(p));
    if (auto w = watch_proc(*proc); !w) {
      errlog::error("exec " + r.exec + ": " + w.error().what());
      ::kill(proc->pid, SIGKILL);
    }
    return proc;
  }();
  if (!started) {
    send(c, encode_error(started.error()));
    return tl::unexpected(started.error());
  }
  Proc& p = **started;
  bool multiplexed = r.attach.format == StreamFormat::multiplexed || (r.attach.format == StreamFormat::automatic && !p.tty);
  Json answer = Json::object();
  answer["pid"] = p.pid;
  answer["tty"] = p.tty;
  if (r.exec_attach) answer["stream"] = multiplexed ? "multiplexed" : "raw";
  send(c, encode_ok(answer));
  if (r.exec_attach && !c.dead) {
    // Attached before its first output is read: nothing the process writes is missed.
    c.mode = Conn::Mode::attached;
    c.exec_id = r.exec;
    c.attach = r.attach;
    c.multiplexed = multiplexed;
    p.attachers.push_back(c.id);
  }
  return answer;
}

}  // namespace berth::shim
