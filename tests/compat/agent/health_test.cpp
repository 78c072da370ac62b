// Health checks (--health-cmd, HEALTHCHECK) run by berth-agent --native, seen through the
// docker CLI: inspect, ps status and filters, events, --no-healthcheck, an agent restart.
#include <signal.h>

#include <ctime>

#include "agent_fixture.h"

namespace berth::test {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The agent fixture, with a helper: a container's health status, or "none" without Health.
class HealthTest : public AgentTest {
 protected:
  static std::string health(const std::string& name) {
    return trim(docker({"inspect", "--format", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", name}).out);
  }
};

TEST_F(HealthTest, HealthCheckGoesUnhealthyThenHealthy) {
  auto since = std::to_string(::time(nullptr) - 1);
  auto run = docker({"run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
                     "--health-retries", "2", kImage, "sleep", "300"});
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(health("hc"), "starting");
  EXPECT_NE(docker({"ps", "--format", "{{.Status}}", "--filter", "name=hc"}).out.find("(health: starting)"), std::string::npos);
  // Two failures one second apart.
  ASSERT_TRUE(eventually([] { return health("hc") == "unhealthy"; }, 15000)) << health("hc") << agent_log();
  EXPECT_EQ(trim(docker({"ps", "-q", "--no-trunc", "--filter", "health=unhealthy"}).out.substr(0, 12)),
            trim(run.out).substr(0, 12));
  auto streak = trim(docker({"inspect", "--format", "{{.State.Health.FailingStreak}} {{(index .State.Health.Log 0).ExitCode}}", "hc"}).out);
  EXPECT_EQ(streak.substr(streak.find(' ')), " 1") << streak;

  ASSERT_EQ(docker({"exec", "hc", "touch", "/tmp/ok"}).status, 0);
  ASSERT_TRUE(eventually([] { return health("hc") == "healthy"; }, 15000)) << health("hc");
  EXPECT_EQ(trim(docker({"inspect", "--format", "{{.State.Health.FailingStreak}}", "hc"}).out), "0");
  EXPECT_NE(docker({"ps", "--format", "{{.Status}}", "--filter", "name=hc"}).out.find("(healthy)"), std::string::npos);
  EXPECT_EQ(trim(docker({"ps", "--format", "{{.Names}}", "--filter", "health=healthy"}).out), "hc");
  EXPECT_EQ(trim(docker({"ps", "-q", "--filter", "health=unhealthy"}).out), "");
  // The log keeps at most five probes.
  ASSERT_TRUE(eventually([] { return trim(docker({"inspect", "--format", "{{len .State.Health.Log}}", "hc"}).out) == "5"; },
                         15000));

  auto until = std::to_string(::time(nullptr) + 1);
  auto ev = docker({"events", "--since", since, "--until", until, "--filter", "container=hc", "--format", "{{.Action}}"});
  EXPECT_NE(ev.out.find("health_status: unhealthy\n"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("health_status: healthy\n"), std::string::npos) << ev.out;

  // Stopped: reported unhealthy, as dockerd does; a new start begins at "starting".
  ASSERT_EQ(docker({"stop", "-t", "0", "hc"}).status, 0);
  EXPECT_EQ(health("hc"), "unhealthy");
  ASSERT_EQ(docker({"start", "hc"}).status, 0);
  EXPECT_EQ(health("hc"), "starting");
  EXPECT_EQ(docker({"rm", "-f", "hc"}).status, 0);
}

TEST_F(HealthTest, HealthCheckTimeoutAndOutput) {
  ASSERT_EQ(docker({"run", "-d", "--name", "slow", "--health-cmd", "echo probing; sleep 5", "--health-interval", "1s",
                    "--health-timeout", "500ms", "--health-retries", "1", kImage, "sleep", "300"})
                .status,
            0);
  ASSERT_TRUE(eventually([] { return health("slow") == "unhealthy"; }, 15000)) << health("slow");
  auto log = docker({"inspect", "--format", "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}", "slow"});
  EXPECT_EQ(trim(log.out), "-1 Health check exceeded timeout (500ms)");

  ASSERT_EQ(docker({"run", "-d", "--name", "chatty", "--health-cmd", "echo fine; echo also >&2", "--health-interval", "1s",
                    kImage, "sleep", "300"})
                .status,
            0);
  ASSERT_TRUE(eventually([] { return health("chatty") == "healthy"; }, 15000)) << health("chatty");
  auto out = docker({"inspect", "--format", "{{json (index .State.Health.Log 0).Output}}", "chatty"});
  EXPECT_EQ(trim(out.out), "\"fine\\nalso\\n\"");
}

TEST_F(HealthTest, NoHealthcheckShowsNoHealth) {
  ASSERT_EQ(docker({"run", "-d", "--name", "nohc", "--no-healthcheck", kImage, "sleep", "300"}).status, 0);
  // HEALTHCHECK NONE's Test, through the API. (The CLI's `--health-cmd NONE` sends
  // ["CMD-SHELL", "NONE"], which dockerd runs like any other command.)
  auto created = http("POST", "/containers/create?name=nonecmd",
                      std::string(R"({"Image":")") + kImage + R"(","Cmd":["sleep","300"],"Healthcheck":{"Test":["NONE"]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_EQ(docker({"start", "nonecmd"}).status, 0);
  ASSERT_EQ(docker({"run", "-d", "--name", "plain", kImage, "sleep", "300"}).status, 0);
  for (const char* n : {"nohc", "nonecmd", "plain"}) {
    EXPECT_EQ(health(n), "none") << n;
    EXPECT_EQ(docker({"ps", "--format", "{{.Status}}", "--filter", std::string("name=") + n}).out.find("("), std::string::npos);
  }
  auto none = docker({"ps", "--format", "{{.Names}}", "--filter", "health=none"}).out;
  EXPECT_NE(none.find("nohc"), std::string::npos);
  EXPECT_NE(none.find("plain"), std::string::npos);
  // A created container has no Health until it starts.
  ASSERT_EQ(docker({"create", "--name", "later", "--health-cmd", "true", kImage, "sleep", "300"}).status, 0);
  EXPECT_EQ(health("later"), "none");
}

TEST_F(HealthTest, HealthSurvivesAgentRestart) {
  ASSERT_EQ(docker({"run", "-d", "--name", "keep", "--health-cmd", "true", "--health-interval", "1s", kImage, "sleep",
                    "300"})
                .status,
            0);
  ASSERT_TRUE(eventually([] { return health("keep") == "healthy"; }, 15000));
  stop_agent(SIGKILL);
  ASSERT_TRUE(start_agent()) << agent_log();
  EXPECT_EQ(health("keep"), "healthy");
  // And the checks go on.
  auto count = [] { return trim(docker({"inspect", "--format", "{{len .State.Health.Log}}", "keep"}).out); };
  ASSERT_TRUE(eventually([&] { return count() == "5"; }, 15000)) << count();
}

}  // namespace
}  // namespace berth::test
