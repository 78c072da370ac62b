#include "supervisor/agent_client.h"

#include "berth/common/protocol.h"
#include "net/http_client.h"

namespace berth::supervisor {

Result<std::string> AgentClient::call(uint32_t port, const char* method, const std::string& path,
                                      const std::string& body, std::chrono::milliseconds timeout) {
  auto deadline = net::Clock::now() + timeout;
  UniqueFd fd = BERTH_TRY(connector_->connect(port, timeout));
  auto response = BERTH_TRY(net::http_request(fd.get(), method, path, body, deadline));
  if (response.status / 100 != 2) {
    std::string detail = response.body.size() > 200 ? response.body.substr(0, 200) + "..." : response.body;
    return make_error(Errc::protocol, std::string(method) + " " + path + ": HTTP " + std::to_string(response.status) +
                                          (detail.empty() ? "" : ": " + detail));
  }
  return std::move(response.body);
}

Result<Json> AgentClient::ready(std::chrono::milliseconds timeout) {
  std::string body = BERTH_TRY(call(protocol::kControlPort, "GET", std::string(protocol::kControlPrefix) + "ready", "",
                                    timeout));
  auto j = parse_json(body, "ready");
  return j && j->is_object() ? *j : Json::object();
}

Status AgentClient::shutdown(std::chrono::milliseconds timeout) {
  BERTH_TRY(call(protocol::kControlPort, "POST", std::string(protocol::kControlPrefix) + "shutdown", "{}", timeout));
  return ok();
}

Status AgentClient::sync_time(std::chrono::milliseconds timeout) {
  BERTH_TRY(call(protocol::kControlPort, "POST", std::string(protocol::kControlPrefix) + "time",
                 time_body(std::chrono::system_clock::now()), timeout));
  return ok();
}

Status AgentClient::docker_ping(std::chrono::milliseconds timeout) {
  BERTH_TRY(call(protocol::kDockerApiPort, "GET", "/_ping", "", timeout));
  return ok();
}

std::string time_body(std::chrono::system_clock::time_point now) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  return Json{{"unix_nanos", static_cast<int64_t>(ns)}}.dump();
}

}  // namespace berth::supervisor
