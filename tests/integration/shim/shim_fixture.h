// Runs berth-shim against busybox bundles the way the agent will: launch, then talk to
// <state>/shim.sock. The test process is a child subreaper like the agent, so detached shims
// are reparented to it.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/common/json.h"
#include "busybox_rootfs.h"
#include "client.h"
#include "process.h"

namespace berth::test {

struct Launched {
  CommandResult launcher;  // the launcher's status and output
  Json answer;             // its stdout parsed: {"ok":true,"pid":..,"shim_pid":..}
  pid_t pid = 0;           // the container's init
  pid_t shim_pid = 0;
  std::string id;
  std::string state_dir;
};

class ShimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // A spec like `runc spec` makes, running `args`.
  Json base_spec(const std::vector<std::string>& args, bool terminal = false) const;
  // Writes the spec and runs berth-shim for a new container; `extra` are more shim options.
  Launched launch(const Json& spec, const std::vector<std::string>& extra = {});
  ShimClient connect(const Launched& l) const { return ShimClient(l.state_dir + "/shim.sock"); }
  // Waits (up to timeout_s) until the shim process has exited; true if it did.
  bool wait_shim_gone(pid_t shim_pid, int timeout_s = 15);
  CommandResult runtime(std::vector<std::string> args);

  static std::string shared_rootfs_;
  std::string dir_;
  std::string bundle_;
  std::string runtime_root_;
  std::vector<Launched> launched_;  // cleaned up in TearDown
  int counter_ = 0;
};

}  // namespace berth::test
