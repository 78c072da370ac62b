// A container's life through the shim: launch, logs, wait, signals, exit.json, the shim's exit.
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "shim_fixture.h"

namespace berth::test {
namespace {

std::vector<Json> log_entries(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(Json::parse(line));
  return out;
}

int vm_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(4096, '\n');
  }
  return -1;
}

TEST_F(ShimTest, LogsJsonLinesWaitsAndRecordsTheExit) {
  // It exits when its stdin closes, so the test decides when.
  auto l = launch(base_spec({"sh", "-c", "echo out; echo err >&2; read x; exit 3"}), {"--stdin"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  EXPECT_GT(l.pid, 0);
  EXPECT_GT(l.shim_pid, 0);
  EXPECT_TRUE(path_exists(l.state_dir + "/shim.sock"));
  EXPECT_EQ(read_file(l.state_dir + "/shim.pid"), std::to_string(l.shim_pid) + "\n");

  auto c = connect(l);
  ASSERT_TRUE(c.connected());
  Json state = c.request({{"op", "state"}});
  ASSERT_TRUE(state["ok"]) << state.dump();
  EXPECT_EQ(state["id"], l.id);
  EXPECT_EQ(state["pid"], l.pid);
  EXPECT_EQ(state["shim_pid"], l.shim_pid);
  EXPECT_EQ(state["status"], "running");
  EXPECT_TRUE(state.contains("started_at"));

  auto w = connect(l);
  ASSERT_TRUE(w.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(c.request({{"op", "close_stdin"}})["ok"]);
  Json waited = Json::parse(w.read_line());
  ASSERT_TRUE(waited["ok"]) << waited.dump();
  EXPECT_EQ(waited["exit_code"], 3);
  // exit.json is on disk before anyone hears of the exit.
  auto exit_json = Json::parse(read_file(l.state_dir + "/exit.json"));
  EXPECT_EQ(exit_json["exit_code"], 3);
  EXPECT_EQ(exit_json["signal"], 0);
  EXPECT_EQ(exit_json["id"], l.id);
  EXPECT_EQ(exit_json["pid"], l.pid);
  EXPECT_EQ(exit_json["finished_at"], waited["finished_at"]);

  auto entries = log_entries(l.state_dir + "/container.log");
  ASSERT_EQ(entries.size(), 2u);
  const std::regex rfc3339nano(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)");
  std::map<std::string, std::string> by_stream;
  for (const auto& e : entries) {
    ASSERT_EQ(e.size(), 3u) << e.dump();
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(), rfc3339nano)) << e.dump();
    by_stream[e["stream"]] = e["log"];
  }
  EXPECT_EQ(by_stream["stdout"], "out\n");
  EXPECT_EQ(by_stream["stderr"], "err\n");

  // Done: the shim leaves, taking its socket and pid file, and keeping exit.json.
  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
  EXPECT_FALSE(path_exists(l.state_dir + "/shim.sock"));
  EXPECT_FALSE(path_exists(l.state_dir + "/shim.pid"));
  EXPECT_TRUE(path_exists(l.state_dir + "/exit.json"));
  // The container is left for the agent to delete (it may restart it).
  auto st = runtime({"state", l.id});
  EXPECT_EQ(st.status, 0) << st.err;
  EXPECT_NE(st.out.find("stopped"), std::string::npos) << st.out;
}

TEST_F(ShimTest, TheInitIsTheShimsChild) {
  auto l = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  std::ifstream stat("/proc/" + std::to_string(l.pid) + "/stat");
  std::string stat_line;
  std::getline(stat, stat_line);
  // Field 4 after "(comm)": the parent pid.
  auto rest = stat_line.substr(stat_line.rfind(')') + 2);
  int ppid = std::stoi(rest.substr(rest.find(' ') + 1));
  EXPECT_EQ(ppid, l.shim_pid);
  // The shim has its own session, apart from the launcher's (the agent's), and does not lead
  // it, so it can never acquire a controlling terminal.
  EXPECT_NE(::getsid(l.shim_pid), ::getsid(0));
  EXPECT_NE(::getsid(l.shim_pid), l.shim_pid);
  // A second launch into the same state directory is refused and leaves the first alone.
  std::vector<std::string> again = {BERTH_SHIM_BIN, "--id", l.id + "-2", "--bundle", bundle_, "--state-dir", l.state_dir,
                                    "--runtime", BERTH_RUNTIME_BIN, "--runtime-root", runtime_root_};
  auto second = run(again);
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.err.find("already serving"), std::string::npos) << second.err;
  auto c = connect(l);
  EXPECT_EQ(c.request({{"op", "state"}})["status"], "running");
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
  EXPECT_TRUE(wait_shim_gone(l.shim_pid));
}

TEST_F(ShimTest, SignalsReachTheInit) {
  auto l = launch(base_spec({"sh", "-c", "trap 'exit 42' TERM; echo trapped; while true; do sleep 0.05; done"}), {"--no-start"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto c = connect(l);
  auto waiter = connect(l);
  ASSERT_TRUE(waiter.send("{\"op\":\"wait\"}\n"));
  auto a = connect(l);
  ASSERT_TRUE(a.request({{"op", "attach"}})["ok"]);
  ASSERT_TRUE(c.request({{"op", "start"}})["ok"]);
  // sh has installed its trap once it says so.
  a.read_until([](const std::string& w) { return demux(w).out == "trapped\n"; });
  Json r = c.request({{"op", "signal"}, {"signal", 15}});
  ASSERT_TRUE(r["ok"]) << r.dump();
  Json w = Json::parse(waiter.read_line());
  EXPECT_EQ(w["exit_code"], 42);

  auto k = launch(base_spec({"sleep", "1000"}));
  ASSERT_EQ(k.launcher.status, 0) << k.launcher.err;
  auto kc = connect(k);
  // Errors come back as answers, and the connection stays usable.
  auto bad = kc.request({{"op", "resize"}, {"width", 1}, {"height", 1}, {"exec", "nope"}});
  EXPECT_FALSE(bad["ok"]);
  EXPECT_EQ(bad["code"], "not_found");
  auto kwait = connect(k);
  ASSERT_TRUE(kwait.send("{\"op\":\"wait\"}\n"));
  EXPECT_TRUE(kc.request({{"op", "signal"}, {"signal", 9}})["ok"]);
  Json kw = Json::parse(kwait.read_line());
  EXPECT_EQ(kw["exit_code"], 137);
  EXPECT_EQ(kw["signal"], 9);
  EXPECT_EQ(Json::parse(read_file(k.state_dir + "/exit.json"))["signal"], 9);
  // Once the init is done the shim leaves; what it knew stays in exit.json.
  EXPECT_TRUE(wait_shim_gone(k.shim_pid));
  EXPECT_TRUE(kc.request({{"op", "state"}}).value("ok", true) == false);
}

TEST_F(ShimTest, NoStartLetsTheAgentAttachFirst) {
  auto l = launch(base_spec({"echo", "first words"}), {"--no-start"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto c = connect(l);
  EXPECT_EQ(c.request({{"op", "state"}})["status"], "created");
  auto a = connect(l);
  Json attached = a.request({{"op", "attach"}});
  ASSERT_TRUE(attached["ok"]) << attached.dump();
  EXPECT_EQ(attached["stream"], "multiplexed");
  Json started = c.request({{"op", "start"}});
  ASSERT_TRUE(started["ok"]) << started.dump();
  auto d = demux(a.read_all());
  EXPECT_TRUE(d.valid);
  EXPECT_EQ(d.out, "first words\n");
  EXPECT_TRUE(a.eof());
  Json again = c.request({{"op", "start"}});
  EXPECT_FALSE(again["ok"]);
}

TEST_F(ShimTest, CreateFailureReportsTheRuntimesError) {
  auto l = launch(base_spec({"/no/such/program"}));
  EXPECT_EQ(l.launcher.status, 1);
  EXPECT_NE(l.launcher.err.find("/no/such/program"), std::string::npos) << l.launcher.err;
  EXPECT_FALSE(path_exists(l.state_dir + "/shim.sock"));
  EXPECT_FALSE(path_exists(l.state_dir + "/shim.pid"));
  EXPECT_FALSE(path_exists(l.state_dir + "/exit.json"));
  EXPECT_NE(runtime({"state", l.id}).status, 0) << "the failed container was left behind";
}

TEST_F(ShimTest, LogRotation) {
  auto l = launch(base_spec({"sh", "-c", "i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo line-$i; done"}),
                  {"--log-max-size", "1k", "--log-max-files", "2", "--no-start"});
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  auto c = connect(l);
  auto w = connect(l);
  ASSERT_TRUE(w.send("{\"op\":\"wait\"}\n"));
  ASSERT_TRUE(c.request({{"op", "start"}})["ok"]);
  EXPECT_EQ(Json::parse(w.read_line())["exit_code"], 0);
  std::string log = l.state_dir + "/container.log";
  ASSERT_TRUE(path_exists(log + ".1"));
  EXPECT_FALSE(path_exists(log + ".2"));
  auto current = log_entries(log);
  auto older = log_entries(log + ".1");
  ASSERT_FALSE(current.empty());
  EXPECT_EQ(current.back()["log"], "line-200\n");
  EXPECT_EQ(older.size() + current.size() <= 200, true);
  // Files stay near max-size: at most one entry past it.
  EXPECT_LT(read_file(log + ".1").size(), 1024u + 100u);
}

TEST_F(ShimTest, ResidentMemoryIsSmall) {
  auto l = launch(base_spec({"sh", "-c", "while true; do echo tick; sleep 0.01; done"}));
  ASSERT_EQ(l.launcher.status, 0) << l.launcher.err;
  // Under load: a busy container, an attacher and a few requests.
  auto a = connect(l);
  ASSERT_TRUE(a.request({{"op", "attach"}})["ok"]);
  a.read_until([](const std::string& s) { return s.size() > 400; });
  auto c = connect(l);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.request({{"op", "state"}})["ok"]);
  int kib = vm_rss_kib(l.shim_pid);
  RecordProperty("shim_vm_rss_kib", kib);
  std::printf("berth-shim VmRSS: %d KiB\n", kib);
  EXPECT_GT(kib, 0);
  EXPECT_LE(kib, 2048) << "berth-shim's resident memory exceeds its 2 MiB budget";
  EXPECT_TRUE(c.request({{"op", "signal"}, {"signal", 9}})["ok"]);
}

}  // namespace
}  // namespace berth::test
