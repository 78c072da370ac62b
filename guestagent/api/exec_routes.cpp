// docker exec: POST /containers/{id}/exec, POST /exec/{id}/start (hijacked), resize, inspect.
#include "agent.h"
#include "core/json_reader.h"
#include "helpers.h"
#include "http/io.h"
#include "berth/shim/frame.h"
#include "routes.h"
#include "stream_proxy.h"

namespace berth::agent {

namespace {

Status exec_create(Agent& agent, http::Request& req, http::Response& res) {
  auto body = BERTH_TRY(req.read_json());
  if (body.is_null()) return make_error(Errc::invalid_argument, "No exec command specified");
  auto cfg = BERTH_TRY(read_boundary([&] {
    ObjectReader r(body, "");
    ExecConfig c;
    c.attach_stdin = r.boolean("AttachStdin");
    c.attach_stdout = r.boolean("AttachStdout");
    c.attach_stderr = r.boolean("AttachStderr");
    c.detach_keys = r.str("DetachKeys");
    c.tty = r.boolean("Tty");
    if (const Json* cs = r.get("ConsoleSize")) {
      if (!cs->is_array() || cs->size() != 2 || !(*cs)[0].is_number_unsigned() || !(*cs)[1].is_number_unsigned())
        throw JsonFieldError("ConsoleSize", "expected [height, width]");
      c.console_size = {(*cs)[0].get<int64_t>(), (*cs)[1].get<int64_t>()};
    }
    c.env = r.strings("Env");
    c.cmd = r.strslice("Cmd").value_or(std::vector<std::string>{});
    c.privileged = r.boolean("Privileged");
    c.user = r.str("User");
    c.working_dir = r.str("WorkingDir");
    if (!c.working_dir.empty() && c.working_dir.front() != '/')
      throw JsonFieldError("WorkingDir", "the working directory '" + c.working_dir + "' is invalid, it needs to be an absolute path");
    return c;
  }));
  BERTH_TRY(parse_detach_keys(cfg.detach_keys));
  auto id = BERTH_TRY(agent.containers().exec_create(req.param("id"), cfg));
  return res.json(201, {{"Id", id}});
}

Status exec_start(Agent& agent, http::Request& req, http::Response& res) {
  auto body = BERTH_TRY(req.read_json());
  bool detach = false, tty = false;
  std::vector<int64_t> console_size;
  BERTH_TRY(read_boundary([&] {
    ObjectReader r(body, "");
    detach = r.boolean("Detach");
    tty = r.boolean("Tty");
    if (const Json* cs = r.get("ConsoleSize")) {
      if (!cs->is_array() || cs->size() != 2 || !(*cs)[0].is_number_unsigned() || !(*cs)[1].is_number_unsigned())
        throw JsonFieldError("ConsoleSize", "expected [height, width]");
      console_size = {(*cs)[0].get<int64_t>(), (*cs)[1].get<int64_t>()};
    }
  }));
  std::string id = req.param("id");
  auto state = BERTH_TRY(agent.containers().exec_inspect(id));
  if (state.config.console_size.size() == 2 && console_size.empty()) console_size = state.config.console_size;
  BERTH_TRY(agent.containers().exec_check(id));
  if (detach) {
    BERTH_TRY(agent.containers().exec_start(id, true, tty, console_size));
    return res.send(200, "application/json", "");
  }
  // As dockerd: the client has the 101 before the process exists, so no output can arrive in
  // the same read as the headers (clients that take the socket over after parsing them, like
  // docker-py, would lose it).
  auto hj = res.hijack(stream_content_type(state.config.tty || tty, req));
  if (!hj) return ok();
  auto stream = agent.containers().exec_start(id, false, tty, console_size);
  if (!stream) {
    // The CLI shows this and takes the exit code (126/127) from the exec's inspect.
    std::string msg = "OCI runtime exec failed: " + stream.error().what() + "\r\n";
    std::string framed;
    if (!(state.config.tty || tty)) {
      shim::append_frame(framed, shim::Stream::err, msg);
    } else {
      framed = msg;
    }
    (void)http::write_all(hj->fd, framed);
    return ok();
  }
  ProxyOptions po;
  po.forward_input = state.config.attach_stdin;
  // Detach keys only on a terminal, as for attach: piped stdin is passed on byte for byte.
  if (po.forward_input && (state.config.tty || tty)) {
    auto keys = parse_detach_keys(state.config.detach_keys.empty() ? "ctrl-p,ctrl-q" : state.config.detach_keys);
    if (keys) po.detach_keys = *keys;
  }
  proxy_stream(hj->fd, std::move(hj->read_ahead), stream->fd.get(), std::move(stream->read_ahead), po);
  stream->fd.reset();
  // The exit code is recorded before the client's connection closes: `docker exec` inspects
  // the exec as soon as its stream ends.
  agent.containers().exec_finish(id);
  return ok();
}

Status exec_resize(Agent& agent, http::Request& req, http::Response& res) {
  auto h = BERTH_TRY(query_int(req, "h"));
  auto w = BERTH_TRY(query_int(req, "w"));
  if (!h || !w || *h < 0 || *w < 0 || *h > 65535 || *w > 65535)
    return make_error(Errc::invalid_argument, "invalid resize request: h and w must be set to sizes between 0 and 65535");
  BERTH_TRY(agent.containers().exec_resize(req.param("id"), *h, *w));
  return res.empty(200);
}

Status exec_inspect(Agent& agent, http::Request& req, http::Response& res) {
  auto x = BERTH_TRY(agent.containers().exec_inspect(req.param("id")));
  Json args = Json::array();
  for (size_t i = 1; i < x.config.cmd.size(); ++i) args.push_back(x.config.cmd[i]);
  Json j = {{"ID", x.id},
            {"Running", x.running},
            {"ExitCode", x.exit_code ? Json(*x.exit_code) : Json(nullptr)},
            {"ProcessConfig",
             {{"tty", x.config.tty},
              {"entrypoint", x.config.cmd.empty() ? "" : x.config.cmd.front()},
              {"arguments", args},
              {"privileged", x.config.privileged},
              {"user", x.config.user}}},
            {"OpenStdin", x.config.attach_stdin},
            {"OpenStderr", x.config.attach_stderr},
            {"OpenStdout", x.config.attach_stdout},
            {"CanRemove", false},
            {"ContainerID", x.container_id},
            {"DetachKeys", x.config.detach_keys},
            {"Pid", x.pid}};
  return res.json(200, j);
}

}  // namespace

void register_exec_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("POST", "/containers/{id}/exec", bind(exec_create));
  router.add("POST", "/exec/{id}/start", bind(exec_start));
  router.add("POST", "/exec/{id}/resize", bind(exec_resize));
  router.add("GET", "/exec/{id}/json", bind(exec_inspect));
}

}  // namespace berth::agent
