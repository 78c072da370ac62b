// Long-lived container endpoints: attach (hijacked), logs (follow), wait, stats (streaming).
#include <chrono>
#include <thread>

#include "agent.h"
#include "berth/common/log.h"
#include "core/log_reader.h"
#include "core/stats.h"
#include "helpers.h"
#include "http/io.h"
#include "routes.h"
#include "stream_proxy.h"

namespace berth::agent {

namespace {

constexpr const char* kDefaultDetachKeys = "ctrl-p,ctrl-q";

Status attach(Agent& agent, http::Request& req, http::Response& res) {
  auto c = BERTH_TRY(agent.containers().get(req.param("id")));
  bool stream = req.query.get_bool("stream");
  bool logs = req.query.get_bool("logs");
  shim::AttachOptions opts;
  opts.attach_stdin = req.query.get_bool("stdin");
  opts.attach_stdout = req.query.get_bool("stdout");
  opts.attach_stderr = req.query.get_bool("stderr");
  std::string keys_spec = req.query.has("detachKeys") ? req.query.get("detachKeys") : kDefaultDetachKeys;
  auto keys = BERTH_TRY(parse_detach_keys(keys_spec));
  // Registered before the client sees the response, so a start right after it is not missed.
  std::optional<ContainerManager::AttachToken> token;
  if (stream) token = BERTH_TRY(agent.containers().prepare_attach(c.id, opts));
  auto hj = res.hijack(stream_content_type(c.config.tty, req));
  if (!hj) {
    if (token) agent.containers().cancel_attach(*token);
    return ok();
  }
  if (logs && !c.log_path.empty()) {
    LogQuery q;
    q.stdout = opts.attach_stdout;
    q.stderr = opts.attach_stderr;
    auto st = read_logs(c.log_path, q, false, [&](const LogEntry& e) {
      return http::write_all(hj->fd, format_log_entry(e, false, !c.config.tty));
    });
    if (!st) {
      if (token) agent.containers().cancel_attach(*token);
      return ok();
    }
  }
  if (!token) return ok();
  int client = hj->fd;
  auto s = agent.containers().attach(*token, [client] { return http::peer_hung_up(client); });
  if (!s) return ok();  // the client left, or the container went away: close the connection
  ProxyOptions po;
  po.forward_input = opts.attach_stdin;
  // As dockerd: the detach sequence is only looked for on a terminal; piped stdin is data
  // and may hold any bytes (ctrl-p ctrl-q included).
  po.detach_keys = opts.attach_stdin && c.config.tty ? keys : std::vector<char>{};
  proxy_stream(client, std::move(hj->read_ahead), s->fd.get(), std::move(s->read_ahead), po);
  return ok();
}

Status logs(Agent& agent, http::Request& req, http::Response& res) {
  auto c = BERTH_TRY(agent.containers().get(req.param("id")));
  LogQuery q;
  q.stdout = req.query.get_bool("stdout");
  q.stderr = req.query.get_bool("stderr");
  if (!q.stdout && !q.stderr) return make_error(Errc::invalid_argument, "Bad parameters: you must choose at least one stream");
  q.timestamps = req.query.get_bool("timestamps");
  if (!req.query.get("since").empty()) q.since_ns = BERTH_TRY(parse_timestamp_param(req.query.get("since"), "since"));
  if (!req.query.get("until").empty()) q.until_ns = BERTH_TRY(parse_timestamp_param(req.query.get("until"), "until"));
  std::string tail = req.query.get("tail");
  if (!tail.empty() && tail != "all") {
    try {
      size_t pos = 0;
      long long n = std::stoll(tail, &pos);
      if (pos != tail.size()) throw std::invalid_argument(tail);
      if (n >= 0) q.tail = n;
    } catch (const std::exception&) {
      return make_error(Errc::invalid_argument, "invalid value for tail: \"" + tail + "\"");
    }
  }
  if (c.host_config.log_config.type == "none")
    return make_error(Errc::unsupported, "configured logging driver does not support reading");
  bool follow = req.query.get_bool("follow");
  bool mux = !c.config.tty;
  BERTH_TRY(res.begin_stream(200, stream_content_type(c.config.tty, req)));
  std::string batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return ok();
    auto st = res.write(batch);
    batch.clear();
    return st;
  };
  std::string id = c.id;
  auto st = read_logs(
      c.log_path, q, follow,
      [&](const LogEntry& e) -> Status {
        batch += format_log_entry(e, q.timestamps, mux);
        if (follow || batch.size() >= 32768) return flush();
        return ok();
      },
      [&] { return !agent.containers().running(id) || res.client_gone(); });
  if (!st) {
    res.force_close();
    return ok();
  }
  BERTH_TRY(flush());
  return res.end_stream();
}

Status wait(Agent& agent, http::Request& req, http::Response& res) {
  std::string cond = req.query.get("condition");
  WaitCondition wc = WaitCondition::not_running;
  if (cond == "next-exit") {
    wc = WaitCondition::next_exit;
  } else if (cond == "removed") {
    wc = WaitCondition::removed;
  } else if (!cond.empty() && cond != "not-running") {
    return make_error(Errc::invalid_argument, "invalid condition: \"" + cond + "\"");
  }
  auto token = BERTH_TRY(agent.containers().prepare_wait(req.param("id"), wc));
  // Headers first, as dockerd sends them: the client knows the wait is in place before it
  // starts the container.
  BERTH_TRY(res.begin_stream(200, "application/json"));
  int fd = res.fd();
  auto code = agent.containers().wait(token, [fd] { return http::peer_closed(fd); });
  if (!code) {
    if (code.error().code == Errc::io) {
      res.force_close();
      return ok();
    }
    BERTH_TRY(res.write(Json{{"StatusCode", -1}, {"Error", {{"Message", code.error().what()}}}}.dump() + "\n"));
    return res.end_stream();
  }
  BERTH_TRY(res.write(Json{{"StatusCode", *code}}.dump() + "\n"));
  return res.end_stream();
}

Status stats(Agent& agent, http::Request& req, http::Response& res) {
  auto c = BERTH_TRY(agent.containers().get(req.param("id")));
  bool stream = req.query.get_bool_or("stream", true);
  bool one_shot = req.query.get_bool("one-shot");
  if (one_shot && stream) return make_error(Errc::invalid_argument, "cannot have stream=true and one-shot=true");
  std::string cg = "/berth/" + c.id;
  uint64_t mem = host_memory_bytes();
  if (!c.state.running) {
    auto body = empty_stats_json(c.id, c.name);
    if (!stream) return res.json(200, body);
    BERTH_TRY(res.begin_stream(200, "application/json"));
    BERTH_TRY(res.write(body.dump() + "\n"));
    return res.end_stream();
  }
  auto first = sample_stats(cg, c.id);
  if (!first) return make_error(Errc::internal, "stats: " + first.error().what());
  if (!stream) {
    if (one_shot) return res.json(200, stats_json(c.id, c.name, *first, std::nullopt, mem));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto second = sample_stats(cg, c.id);
    if (!second) return res.json(200, stats_json(c.id, c.name, *first, std::nullopt, mem));
    return res.json(200, stats_json(c.id, c.name, *second, *first, mem));
  }
  BERTH_TRY(res.begin_stream(200, "application/json"));
  std::optional<StatsSample> prev;
  StatsSample cur = *first;
  for (;;) {
    auto st = res.write(stats_json(c.id, c.name, cur, prev, mem).dump() + "\n");
    if (!st) {
      res.force_close();
      return ok();
    }
    for (int i = 0; i < 10; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (res.client_gone()) {
        res.force_close();
        return ok();
      }
    }
    if (!agent.containers().running(c.id)) return res.end_stream();
    auto next = sample_stats(cg, c.id);
    if (!next) return res.end_stream();
    prev = cur;
    cur = *next;
  }
}

}  // namespace

void register_container_stream_routes(http::Router& router, Agent& agent) {
  auto bind = handler_binder(agent);
  router.add("POST", "/containers/{id}/attach", bind(attach));
  router.add("GET", "/containers/{id}/logs", bind(logs));
  router.add("POST", "/containers/{id}/wait", bind(wait));
  router.add("GET", "/containers/{id}/stats", bind(stats));
}

}  // namespace berth::agent
