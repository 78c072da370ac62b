#include "init/control_api.h"

#include <sys/socket.h>
#include <sys/utsname.h>

#include <thread>

#include "berth/common/protocol.h"
#include "berth/common/version.h"
#include "http/listener.h"
#include "http/server.h"
#include "http/worker_pool.h"
#include "init/clock.h"
#include "init/command.h"
#include "init/console.h"
#include "init/events.h"
#include "init/reaper.h"
#include "init/system_info.h"

namespace berth::agent::init {

namespace {

std::string route(const char* rest) { return std::string(protocol::kControlPrefix) + rest; }

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

Status handle_time(http::Request& req, http::Response& res) {
  Json body = BERTH_TRY(req.read_json());
  const Json* nanos = body.is_object() ? jsonf::find(body, "unix_nanos") : nullptr;
  if (!nanos && body.is_object()) nanos = jsonf::find(body, "unix_nano");
  if (!nanos || !nanos->is_number_integer())
    return res.error(400, "unix_nanos: required, an integer number of nanoseconds since 1970");
  auto moved = set_clock_unix_nanos(nanos->get<int64_t>());
  if (!moved) return res.error(400, moved.error().what());
  if (*moved > 1000 || *moved < -1000) logger()->info("clock set from the host (moved {} ms)", *moved);
  return res.json(200, {{"adjusted_ms", *moved}});
}

Status handle_events(http::Response& res) {
  auto& bus = EventBus::instance();
  uint64_t next = bus.next_seq();
  BERTH_TRY(res.begin_stream(200, "application/json"));
  while (!res.client_gone()) {
    for (const auto& e : bus.wait(next, std::chrono::seconds(1))) {
      next = e["seq"].get<uint64_t>() + 1;
      BERTH_TRY(res.write(e.dump() + "\n"));
    }
  }
  return ok();
}

Status handle_debug_exec(http::Request& req, http::Response& res) {
  Json body = BERTH_TRY(req.read_json());
  if (!body.is_object()) return res.error(400, "expected a JSON object with \"argv\"");
  auto parsed = json_boundary("debug/exec", [&] {
    auto argv = jsonf::opt_string_array(body, "argv", "argv");
    if (argv.empty()) throw JsonFieldError("argv", "required, a non-empty array of strings");
    CommandOptions opts;
    opts.input = jsonf::opt_string(body, "stdin", "stdin").value_or("");
    opts.timeout = std::chrono::milliseconds(jsonf::opt_int(body, "timeout_ms", "timeout_ms").value_or(30000));
    return std::make_pair(argv, opts);
  });
  if (!parsed) return res.error(400, parsed.error().message);
  auto r = run_command(parsed->first, parsed->second);
  if (!r) return res.error(500, r.error().what());
  return res.json(200, {{"exit_code", r->exit_code}, {"stdout", r->out}, {"stderr", r->err}});
}

}  // namespace

namespace {

std::vector<std::string> all_warnings(const ControlContext& ctx) {
  std::vector<std::string> out = ctx.warnings;
  std::lock_guard lock(ctx.late_mu);
  out.insert(out.end(), ctx.late_warnings.begin(), ctx.late_warnings.end());
  return out;
}

}  // namespace

Json ready_json(const ControlContext& ctx) {
  return {{"ready", true},
          {"protocol", protocol::kProtocolVersion},
          {"version", kVersion},
          {"kernel", kernel_release()},
          {"boot", ctx.timeline ? ctx.timeline->to_json() : Json::object()},
          {"warnings", all_warnings(ctx)}};
}

void add_control_routes(http::Router& router, const ControlContext& ctx) {
  router.add("GET", route("ready"), [&ctx](http::Request&, http::Response& res) { return res.json(200, ready_json(ctx)); });
  router.add("GET", route("info"), [&ctx](http::Request&, http::Response& res) {
    Json j = system_info();
    for (auto& [k, v] : ctx.boot_report.items()) j[k] = v;
    {
      std::lock_guard lock(ctx.late_mu);
      for (auto& [k, v] : ctx.late_report.items()) j[k] = v;
    }
    j["boot"] = ctx.timeline ? ctx.timeline->to_json() : Json::object();
    j["warnings"] = all_warnings(ctx);
    // Counted only when PID 1's own reaper runs (not with the agent's, Pid1Options::start_reaper).
    if (ChildReaper::instance().active()) j["orphans_reaped"] = ChildReaper::instance().orphans_reaped();
    return res.json(200, j);
  });
  router.add("POST", route("shutdown"), [&ctx](http::Request&, http::Response& res) -> Status {
    BERTH_TRY(res.json(200, {{"shutting_down", true}}));
    if (ctx.request_shutdown) ctx.request_shutdown("the host asked (POST /berth/v1/shutdown)");
    return ok();
  });
  router.add("POST", route("time"), [](http::Request& req, http::Response& res) { return handle_time(req, res); });
  router.add("GET", route("events"), [](http::Request&, http::Response& res) { return handle_events(res); });
  if (ctx.debug) {
    router.add("POST", route("debug/exec"),
               [](http::Request& req, http::Response& res) { return handle_debug_exec(req, res); });
  }
}

Status serve_control_api(UniqueFd listener, std::shared_ptr<const ControlContext> ctx) {
  auto adopted = BERTH_TRY(http::adopt_listener(std::move(listener), "vsock:" + std::to_string(protocol::kControlPort)));
  // Lives as long as PID 1: never destroyed, so no thread ever sees it go away.
  struct Control {
    std::shared_ptr<const ControlContext> ctx;
    http::Router router;
    http::WorkerPool pool{http::WorkerPool::Options{.max_threads = 64, .keep = 1}};
    std::unique_ptr<http::Server> server;
  };
  auto* c = new Control;
  c->ctx = std::move(ctx);
  add_control_routes(c->router, *c->ctx);
  c->server = std::make_unique<http::Server>(c->router, c->pool);
  BERTH_TRY(c->server->listen(std::move(adopted)));
  std::thread([c] { c->server->run(); }).detach();
  return ok();
}

}  // namespace berth::agent::init
