// Runs the real `berth` binary against a throwaway BERTH_HOME (and HOME, DOCKER_CONFIG),
// and makes sure no VM outlives a test.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace berth::vmtest {

class BerthEnv {
 public:
  // `image_dir`: the guest image every `start` uses (BERTH_IMAGE_DIR).
  explicit BerthEnv(std::string image_dir);
  ~BerthEnv();
  BerthEnv(const BerthEnv&) = delete;
  BerthEnv& operator=(const BerthEnv&) = delete;

  test::CommandResult berth(const std::vector<std::string>& args, int timeout_s = 300) const;
  // `docker` with DOCKER_HOST pointing at the instance.
  test::CommandResult docker(const std::string& name, const std::vector<std::string>& args, int timeout_s = 300,
                             const std::string& input = "") const;
  nlohmann::json status(const std::string& name) const;

  const std::string& root() const { return root_; }
  std::string home() const { return root_ + "/berth"; }
  std::string instance_dir(const std::string& name) const { return home() + "/" + name; }
  std::string docker_socket(const std::string& name) const { return instance_dir(name) + "/docker.sock"; }
  // A directory to share with the guest (under the throwaway root).
  std::string share() const { return root_ + "/share"; }
  std::vector<std::string> env() const;
  // Everything a failed test needs to see: the host log and the guest console.
  std::string diagnostics(const std::string& name) const;

 private:
  std::string root_;
  std::string image_dir_;
};

// An HTTP request through a Unix socket (the Docker bridge): status line + body.
std::string http_over_unix(const std::string& socket, const std::string& method, const std::string& path,
                           const std::string& body = "");

// Whether a process is alive and not a zombie.
bool process_running(int pid);

}  // namespace berth::vmtest
