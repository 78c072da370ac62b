// berth-shim's control protocol, spoken on <state-dir>/shim.sock (see shim/protocol.md).
//
// A client sends one JSON object per line. The shim answers each with one JSON line:
// {"ok":true,...} or {"ok":false,"code":"not_found","error":"..."}. After a successful
// `attach` (or `exec` with "attach":true) answer the connection carries raw bytes: output
// from the shim (raw, or Docker's multiplexed frames, see frame.h) and stdin to the shim.
//
// Header-only so the agent can include it without linking the shim; it needs berth-common.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/shim/frame.h"

namespace berth::shim {

// Files in the shim's state directory (--state-dir). A restarted agent finds a shim from these.
inline constexpr std::string_view kSocketFile = "shim.sock";      // the control socket
inline constexpr std::string_view kPidFile = "shim.pid";          // the shim's pid, while it runs
inline constexpr std::string_view kExitFile = "exit.json";        // ExitRecord, written before the shim exits
inline constexpr std::string_view kLogFile = "container.log";     // default json-file log (--log-path)
inline constexpr std::string_view kShimLogFile = "shim.log";      // the shim's own errors
inline constexpr std::string_view kRuntimeLogFile = "runtime.log";  // berth-runtime --log (JSON lines)
inline constexpr std::string_view kConsoleSocketFile = "console.sock";  // receives pty masters from the runtime
inline constexpr std::string_view kInitPidFile = "init.pid";     // written by `berth-runtime create`

// A request line longer than this is refused (the only large field is an exec's process).
inline constexpr size_t kMaxRequestLine = 1 << 20;

enum class Op { state, start, attach, resize, signal, exec, wait, close_stdin };

inline constexpr std::string_view op_name(Op op) {
  switch (op) {
    case Op::state: return "state";
    case Op::start: return "start";
    case Op::attach: return "attach";
    case Op::resize: return "resize";
    case Op::signal: return "signal";
    case Op::exec: return "exec";
    case Op::wait: return "wait";
    case Op::close_stdin: return "close_stdin";
  }
  return "?";
}

// How an attacher receives output. automatic: raw with a TTY, multiplexed without (Docker's choice).
enum class StreamFormat { automatic, raw, multiplexed };

inline constexpr std::string_view format_name(StreamFormat f) {
  switch (f) {
    case StreamFormat::automatic: return "auto";
    case StreamFormat::raw: return "raw";
    case StreamFormat::multiplexed: return "multiplexed";
  }
  return "?";
}

struct AttachOptions {
  bool attach_stdin = false;  // forward bytes this client sends to the process's stdin
  bool attach_stdout = true;
  bool attach_stderr = true;
  StreamFormat format = StreamFormat::automatic;
};

struct Request {
  Op op = Op::state;
  std::string exec;            // "" (or absent): the container's init; otherwise an exec id
  AttachOptions attach;        // attach; exec when exec_attach
  bool exec_attach = false;    // exec: the answer is followed by the exec's attach stream
  bool exec_stdin = false;     // exec: give the process a stdin (pipe) the attachers can write
  Json process;                // exec: an OCI runtime-spec Process; process.terminal picks pty or pipes
  uint16_t width = 0;          // resize: columns
  uint16_t height = 0;         // resize: rows
  int signal = 0;              // signal: number
  bool all = false;            // signal: every process in the container (berth-runtime kill --all)
};

// The protocol's names for error codes ("code" in a failed answer).
inline constexpr std::string_view errc_token(Errc c) {
  switch (c) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::already_exists: return "already_exists";
    case Errc::conflict: return "conflict";
    case Errc::permission: return "permission";
    case Errc::unsupported: return "unsupported";
    case Errc::io: return "io";
    case Errc::protocol: return "protocol";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal";
  }
  return "internal";
}

inline Errc errc_from_token(std::string_view t) {
  for (Errc c : {Errc::invalid_argument, Errc::not_found, Errc::already_exists, Errc::conflict, Errc::permission,
                 Errc::unsupported, Errc::io, Errc::protocol, Errc::timeout}) {
    if (errc_token(c) == t) return c;
  }
  return Errc::internal;
}

namespace detail {

inline void read_attach_options(const Json& j, AttachOptions& a) {
  a.attach_stdin = jsonf::opt_bool(j, "stdin", "stdin").value_or(a.attach_stdin);
  a.attach_stdout = jsonf::opt_bool(j, "stdout", "stdout").value_or(a.attach_stdout);
  a.attach_stderr = jsonf::opt_bool(j, "stderr", "stderr").value_or(a.attach_stderr);
  auto stream = jsonf::opt_string(j, "stream", "stream").value_or("auto");
  if (stream == "auto") {
    a.format = StreamFormat::automatic;
  } else if (stream == "raw") {
    a.format = StreamFormat::raw;
  } else if (stream == "multiplexed") {
    a.format = StreamFormat::multiplexed;
  } else {
    throw JsonFieldError("stream", "expected \"auto\", \"raw\" or \"multiplexed\", got \"" + stream + "\"");
  }
}

inline void write_attach_options(Json& j, const AttachOptions& a) {
  j["stdin"] = a.attach_stdin;
  j["stdout"] = a.attach_stdout;
  j["stderr"] = a.attach_stderr;
  j["stream"] = std::string(format_name(a.format));
}

}  // namespace detail

// Parses one request line (without or with its trailing newline). Errors name the field.
inline Result<Request> parse_request(std::string_view line) {
  if (line.size() > kMaxRequestLine) return make_error(Errc::invalid_argument, "request: longer than 1 MiB");
  auto j = BERTH_TRY(parse_json(line, "request"));
  return json_boundary("request", [&]() -> Request {
    jsonf::get_object(j, "request");
    Request r;
    const Json* op = jsonf::find(j, "op");
    if (!op) throw JsonFieldError("op", "required");
    std::string name = jsonf::get_string(*op, "op");
    bool known = false;
    for (Op o : {Op::state, Op::start, Op::attach, Op::resize, Op::signal, Op::exec, Op::wait, Op::close_stdin}) {
      if (op_name(o) == name) {
        r.op = o;
        known = true;
      }
    }
    if (!known) throw JsonFieldError("op", "unknown operation \"" + name + "\"");
    r.exec = jsonf::opt_string(j, "exec", "exec").value_or("");
    switch (r.op) {
      case Op::attach:
        detail::read_attach_options(j, r.attach);
        break;
      case Op::exec: {
        if (r.exec.empty()) throw JsonFieldError("exec", "required: an id for the new process");
        const Json* p = jsonf::find(j, "process");
        if (!p) throw JsonFieldError("process", "required");
        r.process = jsonf::get_object(*p, "process");
        r.exec_stdin = jsonf::opt_bool(j, "stdin", "stdin").value_or(false);
        r.exec_attach = jsonf::opt_bool(j, "attach", "attach").value_or(false);
        r.attach.attach_stdin = r.exec_stdin;
        detail::read_attach_options(j, r.attach);
        break;
      }
      case Op::resize: {
        auto w = jsonf::opt_uint(j, "width", "width");
        auto h = jsonf::opt_uint(j, "height", "height");
        if (!w || !h) throw JsonFieldError(w ? "height" : "width", "required");
        if (*w > UINT16_MAX) throw JsonFieldError("width", "must be at most 65535");
        if (*h > UINT16_MAX) throw JsonFieldError("height", "must be at most 65535");
        r.width = static_cast<uint16_t>(*w);
        r.height = static_cast<uint16_t>(*h);
        break;
      }
      case Op::signal: {
        auto s = jsonf::opt_int(j, "signal", "signal");
        if (!s) throw JsonFieldError("signal", "required");
        if (*s <= 0 || *s > 64) throw JsonFieldError("signal", "must be a signal number between 1 and 64");
        r.signal = static_cast<int>(*s);
        r.all = jsonf::opt_bool(j, "all", "all").value_or(false);
        break;
      }
      default:
        break;
    }
    return r;
  });
}

// One request line, newline included.
inline std::string encode_request(const Request& r) {
  Json j = Json::object();
  j["op"] = std::string(op_name(r.op));
  if (!r.exec.empty()) j["exec"] = r.exec;
  switch (r.op) {
    case Op::attach:
      detail::write_attach_options(j, r.attach);
      break;
    case Op::exec:
      j["process"] = r.process;
      j["attach"] = r.exec_attach;
      detail::write_attach_options(j, r.attach);
      j["stdin"] = r.exec_stdin;
      break;
    case Op::resize:
      j["width"] = r.width;
      j["height"] = r.height;
      break;
    case Op::signal:
      j["signal"] = r.signal;
      j["all"] = r.all;
      break;
    default:
      break;
  }
  return j.dump() + "\n";
}

// Answers. `fields` are merged into {"ok":true}.
inline std::string encode_ok(Json fields = Json::object()) {
  Json j = Json::object();
  j["ok"] = true;
  for (auto& [k, v] : fields.items()) j[k] = v;
  return j.dump() + "\n";
}

inline std::string encode_error(const Error& e) {
  Json j = Json::object();
  j["ok"] = false;
  j["code"] = std::string(errc_token(e.code));
  j["error"] = e.what();
  return j.dump() + "\n";
}

// Parses an answer line: the object on {"ok":true}, the shim's error on {"ok":false}.
inline Result<Json> parse_response(std::string_view line) {
  auto j = BERTH_TRY(parse_json(line, "shim answer"));
  if (!j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
    return make_error(Errc::protocol, "shim answer: expected an object with \"ok\"");
  if (j["ok"].get<bool>()) return j;
  std::string code = j.value("code", "internal");
  return make_error(errc_from_token(code), j.value("error", std::string("shim: unknown error")));
}

// One process the shim runs: the init ("exec" empty) or an exec.
struct ProcessState {
  std::string exec;
  pid_t pid = 0;
  std::string status;        // "created" (init before start), "running", "stopped"
  bool tty = false;
  std::optional<int> exit_code;  // when stopped: exit status, or 128+signal when killed
  std::string started_at;    // RFC 3339, nanoseconds, UTC; empty until started
  std::string finished_at;   // empty until stopped
};

inline Json to_json(const ProcessState& p) {
  Json j = Json::object();
  if (!p.exec.empty()) j["exec"] = p.exec;
  j["pid"] = p.pid;
  j["status"] = p.status;
  j["tty"] = p.tty;
  if (p.exit_code) j["exit_code"] = *p.exit_code;
  if (!p.started_at.empty()) j["started_at"] = p.started_at;
  if (!p.finished_at.empty()) j["finished_at"] = p.finished_at;
  return j;
}

inline Result<ProcessState> process_state_from_json(const Json& j) {
  return json_boundary("process state", [&] {
    ProcessState p;
    p.exec = jsonf::opt_string(j, "exec", "exec").value_or("");
    p.pid = static_cast<pid_t>(jsonf::opt_int(j, "pid", "pid").value_or(0));
    p.status = jsonf::opt_string(j, "status", "status").value_or("");
    p.tty = jsonf::opt_bool(j, "tty", "tty").value_or(false);
    if (auto c = jsonf::opt_int(j, "exit_code", "exit_code")) p.exit_code = static_cast<int>(*c);
    p.started_at = jsonf::opt_string(j, "started_at", "started_at").value_or("");
    p.finished_at = jsonf::opt_string(j, "finished_at", "finished_at").value_or("");
    return p;
  });
}

// exit.json: what a restarted agent reads once the shim is gone.
struct ExitRecord {
  std::string id;
  pid_t pid = 0;             // the init's pid
  int exit_code = 0;         // exit status, or 128+signal
  int signal = 0;            // the signal that killed the init, 0 if it exited
  std::string started_at;
  std::string finished_at;
};

inline Json to_json(const ExitRecord& r) {
  Json j = Json::object();
  j["id"] = r.id;
  j["pid"] = r.pid;
  j["exit_code"] = r.exit_code;
  j["signal"] = r.signal;
  j["started_at"] = r.started_at;
  j["finished_at"] = r.finished_at;
  return j;
}

inline Result<ExitRecord> parse_exit_record(std::string_view text) {
  auto j = BERTH_TRY(parse_json(text, "exit.json"));
  return json_boundary("exit.json", [&] {
    jsonf::get_object(j, "exit.json");
    ExitRecord r;
    r.id = jsonf::opt_string(j, "id", "id").value_or("");
    r.pid = static_cast<pid_t>(jsonf::opt_int(j, "pid", "pid").value_or(0));
    const Json* code = jsonf::find(j, "exit_code");
    if (!code) throw JsonFieldError("exit_code", "required");
    r.exit_code = static_cast<int>(jsonf::get_int(*code, "exit_code"));
    r.signal = static_cast<int>(jsonf::opt_int(j, "signal", "signal").value_or(0));
    r.started_at = jsonf::opt_string(j, "started_at", "started_at").value_or("");
    r.finished_at = jsonf::opt_string(j, "finished_at", "finished_at").value_or("");
    return r;
  });
}

}  // namespace berth::shim
