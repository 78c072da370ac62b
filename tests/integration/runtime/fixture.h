// Runs berth-runtime's CLI against busybox bundles, as an engine would.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "berth/common/json.h"
#include "busybox_rootfs.h"
#include "process.h"

namespace berth::test {

// Reads one message and the fd passed with it (SCM_RIGHTS) from a connected Unix socket, as a
// console socket or a seccomp agent does. -1 when no fd came; *data gets the bytes.
int receive_passed_fd(int conn, std::string* data);

class RuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // A spec like `runc spec` makes, without a terminal, running `args`.
  Json base_spec(const std::vector<std::string>& args) const;
  // Writes config.json into the bundle.
  void write_spec(const Json& spec);
  // berth-runtime --root <state> ARGS...
  CommandResult rt(std::vector<std::string> args, const std::string& input = "", int timeout_s = 60);
  // `run --bundle <bundle> <id>` of a spec; returns its status and output.
  CommandResult run_spec(const Json& spec, const std::string& id = "c1");
  std::string unique_id(const std::string& base);

  static std::string shared_rootfs_;  // a read-mostly busybox rootfs
  std::string dir_;                   // per-test temp dir
  std::string bundle_;
  std::string state_root_;
  std::vector<std::string> created_;  // ids to force-delete in TearDown
};

}  // namespace berth::test
