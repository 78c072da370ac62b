// The agent: image store, volumes, events, containers and the Docker API server over them.
// main() builds one from the command line and runs it; VM mode (PID 1) adds its own
// listeners (AF_VSOCK) with listen().
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "core/container_manager.h"
#include "core/events.h"
#include "core/volumes.h"
#include "http/listener.h"
#include "http/router.h"
#include "http/server.h"
#include "http/worker_pool.h"
#include "image/image_store.h"

namespace berth::agent {

struct AgentOptions {
  std::string state_root;   // images, containers, volumes
  std::string socket_path;  // the Docker API's Unix socket (mode 0600); empty: none
  std::string runtime_bin;
  std::string shim_bin;
  std::string init_bin;     // docker-init/tini for --init; empty: none
  bool native = true;       // a daemon on a Linux host (not PID 1 in the VM)
  bool no_pivot = false;
  // Registry settings from the command line; Agent::create merges the configuration file's
  // (core/daemon_config.h) into them.
  image::RegistryConfig registry;
  // dockerd-style daemon.json; empty: <state_root>/daemon.json when it exists.
  std::string config_file;
};

class Agent {
 public:
  // Opens the stores, reloads containers, registers the routes and binds the socket.
  static Result<std::unique_ptr<Agent>> create(AgentOptions options);
  ~Agent();

  // Another listening socket (AF_VSOCK in the VM), served like the Unix socket.
  Status listen(http::Listener listener);
  // Serves until SIGTERM/SIGINT or stop(). Containers keep running when the agent stops.
  Status run();
  // Serves on a thread of its own and returns (PID 1 keeps the main thread for its signal
  // loop); stop() ends it.
  Status start();
  void stop();

  const AgentOptions& options() const { return o_; }
  image::ImageStore& images() { return *images_; }
  VolumeStore& volumes() { return *volumes_; }
  EventBus& events() { return events_; }
  ContainerManager& containers() { return *containers_; }
  http::Router& router() { return router_; }
  http::WorkerPool& pool() { return pool_; }
  const std::string& id() const { return id_; }

  // Publishes an image event (pull, load, tag, untag, delete, …); attribute "name" defaults
  // to `ref`.
  void image_event(const std::string& action, const std::string& ref, std::map<std::string, std::string> attrs = {});

 private:
  explicit Agent(AgentOptions options);

  AgentOptions o_;
  std::string id_;
  EventBus events_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<VolumeStore> volumes_;
  std::unique_ptr<ContainerManager> containers_;
  http::Router router_;
  http::WorkerPool pool_;
  std::unique_ptr<http::Server> server_;
  std::thread io_thread_;
};

}  // namespace berth::agent
