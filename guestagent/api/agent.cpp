#include "agent.h"

#include <signal.h>
#include <sys/utsname.h>

#include <boost/asio/signal_set.hpp>

#include "berth/common/fs.h"
#include "berth/common/log.h"
#include "core/daemon_config.h"
#include "core/ids.h"
#include "image/safe_fs.h"
#include "routes.h"

namespace berth::agent {

namespace {
// berth-shim's state directory must fit a socket path: <root>/shims/<12 hex>/console.sock.
constexpr size_t kMaxStateRoot = 94 - 19;
}  // namespace

Agent::Agent(AgentOptions options) : o_(std::move(options)) {}

Agent::~Agent() {
  if (containers_) containers_->shutdown();
  if (server_) server_->stop();
  if (io_thread_.joinable()) io_thread_.join();
  pool_.stop();
}

Result<std::unique_ptr<Agent>> Agent::create(AgentOptions options) {
  auto log = log::get("agent");
  if (options.state_root.empty() || options.state_root.front() != '/')
    return make_error(Errc::invalid_argument, "--state-root must be an absolute path");
  while (options.state_root.size() > 1 && options.state_root.back() == '/') options.state_root.pop_back();
  if (options.state_root.size() > kMaxStateRoot)
    return make_error(Errc::invalid_argument, "--state-root \"" + options.state_root + "\" is longer than " +
                                                  std::to_string(kMaxStateRoot) +
                                                  " characters: berth-shim sockets below it would not fit a socket path");
  std::unique_ptr<Agent> a(new Agent(std::move(options)));
  const auto& root = a->o_.state_root;
  BERTH_TRY(image::safefs::ensure_dir(root, 0711));

  std::string id_file = root + "/engine-id";
  if (auto text = fs::read_file(id_file); text && !text->empty()) {
    a->id_ = *text;
    while (!a->id_.empty() && a->id_.back() == '\n') a->id_.pop_back();
  } else {
    a->id_ = new_id();
    BERTH_TRY(fs::write_file_atomic(id_file, a->id_ + "\n", 0600));
  }

  bool explicit_config = !a->o_.config_file.empty();
  std::string config_path = explicit_config ? a->o_.config_file : root + "/daemon.json";
  auto config = BERTH_TRY(load_daemon_config(config_path, explicit_config));
  if (!config.unused_keys.empty()) {
    std::string keys;
    for (const auto& k : config.unused_keys) keys += (keys.empty() ? "" : ", ") + k;
    log->warn("{}: berth does not use these settings: {}", config_path, keys);
  }
  a->o_.registry = BERTH_TRY(merge_registry_config(a->o_.registry, config));

  image::StoreOptions so;
  so.state_root = root;
  so.registry = a->o_.registry;
  a->images_ = BERTH_TRY(image::ImageStore::open(so));
  a->volumes_ = std::make_unique<VolumeStore>(root + "/volumes");
  BERTH_TRY(a->volumes_->load());

  struct utsname u {};
  ::uname(&u);
  ManagerOptions mo;
  mo.state_root = root;
  mo.runtime_bin = a->o_.runtime_bin;
  mo.shim_bin = a->o_.shim_bin;
  mo.init_bin = a->o_.init_bin;
  mo.no_pivot = a->o_.no_pivot;
  mo.machine = u.machine;
  a->containers_ = std::make_unique<ContainerManager>(mo, *a->images_, *a->volumes_, a->events_);
  BERTH_TRY(a->containers_->load());

  auto& r = a->router_;
  register_system_routes(r, *a);
  register_container_routes(r, *a);
  register_container_stream_routes(r, *a);
  register_container_file_routes(r, *a);
  register_exec_routes(r, *a);
  register_volume_routes(r, *a);
  register_run_image_routes(r, *a);
  register_image_routes(r, *a);  // last: may replace routes above
  log->info("{} API routes", r.size());

  a->server_ = std::make_unique<http::Server>(a->router_, a->pool_);
  if (!a->o_.socket_path.empty()) {
    auto l = BERTH_TRY(http::listen_unix(a->o_.socket_path, 0600));
    BERTH_TRY(a->server_->listen(std::move(l)));
  }
  return a;
}

Status Agent::listen(http::Listener listener) { return server_->listen(std::move(listener)); }

Status Agent::run() {
  boost::asio::signal_set signals(server_->io(), SIGTERM, SIGINT);
  signals.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::get("agent")->info("signal {}: shutting down (containers keep running)", sig);
    stop();
  });
  server_->run();
  return ok();
}

Status Agent::start() {
  if (io_thread_.joinable()) return make_error(Errc::conflict, "the agent is already serving");
  io_thread_ = std::thread([this] { server_->run(); });
  return ok();
}

void Agent::stop() {
  if (containers_) containers_->shutdown();
  server_->stop();
}

void Agent::image_event(const std::string& action, const std::string& ref, std::map<std::string, std::string> attrs) {
  Event e;
  e.type = "image";
  e.action = action;
  e.id = ref;
  e.attributes = std::move(attrs);
  e.attributes.try_emplace("name", ref);
  events_.publish(std::move(e));
}

}  // namespace berth::agent
