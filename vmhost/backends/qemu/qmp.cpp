#include "backends/qemu/qmp.h"

namespace berth::qemu {

Result<QmpClient> QmpClient::connect(const std::string& socket, std::chrono::milliseconds timeout) {
  auto deadline = net::Clock::now() + timeout;
  UniqueFd fd = BERTH_TRY(net::connect_unix(socket));
  QmpClient client(std::move(fd));
  Json greeting = BERTH_TRY(client.read_message(deadline));
  if (!greeting.contains("QMP")) return make_error(Errc::protocol, "QMP: unexpected greeting " + greeting.dump());
  BERTH_TRY(client.execute("qmp_capabilities", Json::object(), timeout));
  return client;
}

Result<Json> QmpClient::execute(const std::string& command, const Json& arguments, std::chrono::milliseconds timeout) {
  auto deadline = net::Clock::now() + timeout;
  Json request = {{"execute", command}};
  if (!arguments.empty()) request["arguments"] = arguments;
  BERTH_TRY(net::send_all(fd_.get(), request.dump() + "\n", "QMP " + command));
  for (;;) {
    Json message = BERTH_TRY(read_message(deadline));
    if (message.contains("event")) continue;
    if (message.contains("error")) {
      std::string desc = message["error"].value("desc", message["error"].dump());
      return make_error(Errc::protocol, "QMP " + command + ": " + desc);
    }
    if (message.contains("return")) return message["return"];
  }
}

Result<Json> QmpClient::read_message(net::Clock::time_point deadline) {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return parse_json(line, "QMP message");
    }
    std::string chunk = BERTH_TRY(net::read_some(fd_.get(), 65536, deadline, "QMP"));
    if (chunk.empty()) return make_error(Errc::protocol, "QMP: connection closed");
    buf_ += chunk;
    if (buf_.size() > (1u << 20)) return make_error(Errc::protocol, "QMP: message too long");
  }
}

}  // namespace berth::qemu
