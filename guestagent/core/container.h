// A container's record: what dockerd keeps in config.v2.json and shows in inspect. The agent
// persists it as <state-root>/containers/<id>/config.json in that shape.
#pragma once

#include <string>
#include <vector>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "container_config.h"
#include "health.h"
#include "ids.h"

namespace berth::agent {

struct ContainerState {
  // created, running, paused, restarting, removing, exited, dead
  std::string status = "created";
  bool running = false, paused = false, restarting = false, oom_killed = false, dead = false;
  int pid = 0;
  int exit_code = 0;
  std::string error;
  std::string started_at = std::string(kZeroTime);
  std::string finished_at = std::string(kZeroTime);
  // Set when a container with a health check starts; kept (as "unhealthy") after it stops.
  std::optional<HealthState> health;
};

// One entry of inspect's "Mounts", plus what the agent needs to set it up again.
struct MountPoint {
  std::string type;         // bind, volume, tmpfs
  std::string name;         // volume name
  std::string source;       // host path (a volume's _data directory)
  std::string destination;  // in the container
  std::string driver;       // "local" for volumes
  std::string mode;         // as given: "ro", "z", …
  bool rw = true;
  std::string propagation;  // binds: "rprivate" unless set
  std::string tmpfs_options;  // tmpfs: mount data ("size=…,mode=…")
  bool copy_up = false;       // volume: fill an empty volume from the image on first start
  bool anonymous = false;     // volume created for this container (docker rm -v removes it)
};

struct Container {
  std::string id;
  std::string name;  // with the leading "/"
  std::string created;
  std::string path;  // the process: Path + Args
  std::vector<std::string> args;
  ContainerConfig config;
  HostConfig host_config;
  std::string image;  // image id, "sha256:…"
  ContainerState state;
  int restart_count = 0;
  bool manually_stopped = false;  // HasBeenManuallyStopped: restart policies leave it alone
  std::vector<MountPoint> mounts;
  std::string log_path, hostname_path, hosts_path, resolv_conf_path;
  std::vector<std::string> warnings;  // from create, for info; not persisted
};

Json to_json(const ContainerState& s);
Json to_json(const MountPoint& m);  // inspect's shape
// config.json: everything the agent needs to load the container again.
Json to_json(const Container& c);
Result<Container> container_from_json(const Json& j);

// Status lines of `docker ps`: "Up 3 minutes", "Exited (0) 2 seconds ago", "Created", …
std::string status_text(const ContainerState& s, int64_t now_ns);

}  // namespace berth::agent
