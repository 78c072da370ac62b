// A berth-agent --native on a private socket and state root, with the busybox test image
// loaded, for driving with the real docker CLI. One agent per test process (ctest runs each
// test on its own); everything it made is removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "berth/common/json.h"
#include "process.h"

namespace berth::test {

inline constexpr const char* kImage = "berth.test/busybox:1";

struct HttpReply {
  int status = 0;
  std::string headers;
  std::string body;
  Json json() const;
};

class AgentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // docker -H unix://<socket> args…
  static CommandResult docker(std::vector<std::string> args, const std::string& input = "", int timeout_s = 60);
  // One request on a fresh connection (Connection: close).
  static HttpReply http(const std::string& method, const std::string& path, const std::string& body = "",
                        const std::string& content_type = "application/json");
  static bool start_agent();
  // Signals the agent and waits for it to exit.
  static void stop_agent(int sig);
  static std::string agent_log();
  // Removes every container (force) and volume.
  static void clean_up();
  static long agent_rss_kib();
  // Polls `pred` every 50 ms for up to timeout_ms.
  template <class Pred>
  static bool eventually(Pred pred, int timeout_ms = 10000);

  static std::string dir_, socket_, state_;
  // More berth-agent arguments (a derived suite sets them before SetUpTestSuite).
  static std::vector<std::string> extra_args_;
  static pid_t agent_pid_;
  static bool ready_;
  static std::string skip_reason_;
};

template <class Pred>
bool AgentTest::eventually(Pred pred, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (pred()) return true;
    ::usleep(50000);
  }
  return pred();
}

}  // namespace berth::test
