// exec: each process has its own stdio (pipes or a pty), attach stream, exit code and resize.
#include "shim_fixture.h"

namespace berth::test {
namespace {

Json exec_process(const std::vector<std::string>& args, bool terminal = false) {
  return {{"args", args}, {"cwd", "/"}, {"env", {"PATH=/bin", "TERM=xterm"}}, {"terminal", terminal}, {"user", {{"uid", 0}, {"gid", 0}}}};
}

TEST_F(ShimTest, ExecHasItsOwnStreamsAndExitCode) {
  auto l = launch(base_spec({"sh", "-c", "echo init-output; sleep 1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto e = connect(l);
  Json ans = e.request({{"op", "exec"}, {"exec", "e1"}, {"attach", true},
                        {"process", exec_process({"sh", "-c", "echo from-exec; echo to-err >&2; exit 7"})}});
  ASSERT_TRUE(ans["ok"]) << ans.dump();
  EXPECT_GT(ans["pid"].get<int>(), 0);
  EXPECT_EQ(ans["stream"], "multiplexed");
  auto d = demux(e.read_all());
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.out, "from-exec\n");
  EXPECT_EQ(d.err, "to-err\n");

  auto c = connect(l);
  Json w = c.request({{"op", "wait"}, {"exec", "e1"}});
  ASSERT_TRUE(w["ok"]) << w.dump();
  EXPECT_EQ(w["exit_code"], 7);
  Json st = c.request({{"op", "state"}, {"exec", "e1"}});
  EXPECT_EQ(st["status"], "stopped");
  EXPECT_EQ(st["exit_code"], 7);
  Json all = c.request({{"op", "state"}});
  EXPECT_EQ(all["status"], "running");
  ASSERT_EQ(all["execs"].size(), 1u);
  EXPECT_EQ(all["execs"][0]["exec"], "e1");

  // Exec output is not part of the container's log.
  std::string log = read_file(l.state_dir + "/container.log");
  EXPECT_NE(log.find("init-output"), std::string::npos);
  EXPECT_EQ(log.find("from-exec"), std::string::npos);

  // Ids are unique; bad processes come back with the runtime's message.
  Json dup = c.request({{"op", "exec"}, {"exec", "e1"}, {"process", exec_process({"true"})}});
  EXPECT_EQ(dup["code"], "already_exists");
  Json missing = c.request({{"op", "exec"}, {"exec", "e2"}, {"process", exec_process({"/no/such/tool"})}});
  EXPECT_FALSE(missing["ok"]);
  EXPECT_NE(missing["error"].get<std::string>().find("/no/such/tool"), std::string::npos) << missing.dump();
  Json badid = c.request({{"op", "exec"}, {"exec", "../x"}, {"process", exec_process({"true"})}});
  EXPECT_EQ(badid["code"], "invalid_argument");
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

TEST_F(ShimTest, ExecWithStdinAndSignal) {
  auto l = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto e = connect(l);
  Json ans = e.request({{"op", "exec"}, {"exec", "cat"}, {"attach", true}, {"stdin", true}, {"process", exec_process({"cat"})}});
  ASSERT_TRUE(ans["ok"]) << ans.dump();
  ASSERT_TRUE(e.send("ping\n"));
  auto got = e.read_until([](const std::string& w) { return demux(w).out == "ping\n"; });
  EXPECT_EQ(demux(got).out, "ping\n");
  // A second exec runs beside it; signals go to the one named.
  auto s = connect(l);
  Json sl = s.request({{"op", "exec"}, {"exec", "sleeper"}, {"process", exec_process({"sleep", "1000"})}});
  ASSERT_TRUE(sl["ok"]) << sl.dump();
  EXPECT_TRUE(s.request({{"op", "signal"}, {"exec", "sleeper"}, {"signal", 9}})["ok"]);
  EXPECT_EQ(s.request({{"op", "wait"}, {"exec", "sleeper"}})["exit_code"], 137);
  EXPECT_EQ(s.request({{"op", "state"}, {"exec", "cat"}})["status"], "running");
  // The exec's input ends: its stdin closes and cat exits 0.
  e.shutdown_write();
  e.read_all();
  EXPECT_TRUE(e.eof());
  EXPECT_EQ(s.request({{"op", "wait"}, {"exec", "cat"}})["exit_code"], 0);
  EXPECT_TRUE(s.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

TEST_F(ShimTest, ExecWithTerminalAndResize) {
  auto l = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto e = connect(l);
  Json ans = e.request({{"op", "exec"}, {"exec", "t1"}, {"attach", true}, {"stdin", true},
                        {"process", exec_process({"sh", "-c", "read go; stty size; exit 5"}, true)}});
  ASSERT_TRUE(ans["ok"]) << ans.dump();
  EXPECT_EQ(ans["tty"], true);
  EXPECT_EQ(ans["stream"], "raw");
  auto c = connect(l);
  Json r = c.request({{"op", "resize"}, {"exec", "t1"}, {"width", 77}, {"height", 22}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  ASSERT_TRUE(e.send("go\n"));
  std::string out = e.read_all();
  EXPECT_NE(out.find("22 77"), std::string::npos) << out;
  EXPECT_EQ(c.request({{"op", "wait"}, {"exec", "t1"}})["exit_code"], 5);
  // The container's own terminal settings are untouched: it has none.
  EXPECT_EQ(c.request({{"op", "resize"}, {"width", 1}, {"height", 1}})["code"], "invalid_argument");
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

}  // namespace
}  // namespace berth::test

namespace berth::test {
namespace {

TEST_F(ShimTest, OldFinishedExecsAreForgotten) {
  auto l = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto c = connect(l);
  const Json process = {{"args", {"true"}}, {"cwd", "/"}, {"env", {"PATH=/bin"}}};
  for (int i = 0; i < 70; ++i) {
    std::string id = "hc-" + std::to_string(i);
    Json e = c.request({{"op", "exec"}, {"exec", id}, {"process", process}});
    ASSERT_TRUE(e["ok"]) << e.dump();
    ASSERT_EQ(c.request({{"op", "wait"}, {"exec", id}})["exit_code"], 0) << id;
  }
  // A health check every few seconds must not grow the shim forever: the last 64 are kept.
  Json state = c.request({{"op", "state"}});
  EXPECT_EQ(state["execs"].size(), 64u);
  EXPECT_EQ(c.request({{"op", "state"}, {"exec", "hc-0"}})["code"], "not_found");
  EXPECT_EQ(c.request({{"op", "state"}, {"exec", "hc-69"}})["status"], "stopped");
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

}  // namespace
}  // namespace berth::test
