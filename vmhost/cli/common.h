// Helpers shared by the `berth` verbs (one file per verb in cli/).
#pragma once

#include <string>
#include <string_view>

#include "berth/common/result.h"
#include "instance/config.h"
#include "instance/paths.h"
#include "instance/run_state.h"

namespace berth::cli {

struct InstanceRef {
  std::string name;
  std::string home;
  instance::Paths paths;
};

// Validates the name and finds BERTH_HOME; does not require the instance to exist.
Result<InstanceRef> resolve(const std::string& name);
bool exists(const InstanceRef& ref);
// Existing instance's config, or an error telling how to create it.
Result<instance::Config> load_existing(const InstanceRef& ref);

// What the instance is doing now (lock + status.json).
instance::RunState current_state(const InstanceRef& ref);
bool vmhost_alive(const InstanceRef& ref);

// "berth: VERB: MESSAGE" on stderr, one line; returns the exit status 1.
int fail(std::string_view verb, const std::string& message);

// "unix:///home/u/.berth/default/docker.sock".
std::string docker_host(const InstanceRef& ref);

}  // namespace berth::cli
