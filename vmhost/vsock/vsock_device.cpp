#include "vsock_device.h"

#include "berth/common/log.h"
#include "event_loop.h"
#include "host_bridge.h"
#include "vhost_user_server.h"
#include "vsock_engine.h"
#include "vsock_log.h"

namespace berth::vsock {

// Member order is teardown order in reverse: the server and bridge refer to the engine,
// and everything refers to the loop.
struct UserspaceVsock::Impl {
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<VsockEngine> engine;
  std::unique_ptr<HostBridge> bridge;
  std::unique_ptr<VhostUserServer> server;
};

Result<std::unique_ptr<UserspaceVsock>> UserspaceVsock::create(Config config) {
  if (config.vhost_user_socket.empty()) return make_error(Errc::invalid_argument, "vsock: vhost_user_socket is empty");
  if (config.host_socket.empty()) return make_error(Errc::invalid_argument, "vsock: host_socket is empty");
  // 0-2 are reserved and -1 is VMADDR_CID_ANY; Linux keeps CIDs in 32 bits.
  if (config.guest_cid < 3 || config.guest_cid >= 0xffffffffu) {
    return make_error(Errc::invalid_argument, "vsock: guest_cid " + std::to_string(config.guest_cid) +
                                                  " is reserved or out of range (3..4294967294)");
  }
  Log log(berth::log::get("vmhost"), config.instance.empty() ? "cid " + std::to_string(config.guest_cid) : config.instance);

  auto impl = std::make_unique<Impl>();
  impl->loop = BERTH_TRY(EventLoop::create());
  Impl* raw = impl.get();

  VsockEngine::Options options;
  options.guest_cid = config.guest_cid;
  options.connect_timeout = config.connect_timeout;
  impl->engine = std::make_unique<VsockEngine>(
      *impl->loop, options, [raw](uint32_t port) { return raw->bridge->connect_to_host_port(port); }, log);

  auto bridge = HostBridge::listen(
      *impl->loop, config.host_socket,
      [raw](UniqueFd client, uint32_t port, std::string early) {
        raw->engine->connect_from_host(std::move(client), port, std::move(early));
      },
      log);
  if (!bridge) return tl::unexpected(std::move(bridge.error()).context("vsock host socket"));
  impl->bridge = std::move(*bridge);

  auto server = VhostUserServer::listen(*impl->loop, config.vhost_user_socket, *impl->engine, kNumQueues, log);
  if (!server) return tl::unexpected(std::move(server.error()).context("vsock vhost-user socket"));
  impl->server = std::move(*server);
  impl->engine->attach(impl->server->queue(kRxQueue), impl->server->queue(kTxQueue));
  if (config.exit_on_disconnect) impl->server->set_on_disconnect([raw] { raw->loop->stop(); });

  log.info("listening: vhost-user {}, host {}", config.vhost_user_socket, config.host_socket);
  return std::unique_ptr<UserspaceVsock>(new UserspaceVsock(std::move(impl)));
}

UserspaceVsock::UserspaceVsock(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UserspaceVsock::~UserspaceVsock() = default;

Status UserspaceVsock::run() { return impl_->loop->run(); }

void UserspaceVsock::stop() { impl_->loop->stop(); }

}  // namespace berth::vsock
