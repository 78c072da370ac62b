#include "cli/docker_context.h"

#include <signal.h>

#include <chrono>

#include "backends/platform.h"
#include "process/child.h"

namespace berth::cli {

namespace {

// Runs docker quietly; its exit status, or -1 when it cannot run or hangs.
int docker(const std::vector<std::string>& args) {
  std::string binary = process::find_program("docker");
  if (binary.empty()) return -1;
  platform::SpawnOptions o;
  o.argv = {binary};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  auto pid = platform::spawn(o);
  if (!pid) return -1;
  process::Child child(*pid);
  auto e = child.wait_for(std::chrono::seconds(20));
  if (!e) {
    child.signal(SIGKILL);
    child.wait_for(std::chrono::seconds(5));
    return -1;
  }
  return e->signaled ? -1 : e->code;
}

}  // namespace

std::string context_name(const std::string& instance) { return "berth-" + instance; }

bool ensure_docker_context(const std::string& instance, const std::string& docker_host) {
  std::string name = context_name(instance);
  std::string endpoint = "host=" + docker_host;
  if (docker({"context", "create", name, "--docker", endpoint}) == 0) return true;
  // It exists already: make sure it points here (BERTH_HOME may have changed).
  return docker({"context", "update", name, "--docker", endpoint}) == 0;
}

void remove_docker_context(const std::string& instance) {
  (void)docker({"context", "rm", "--force", context_name(instance)});
}

}  // namespace berth::cli
