// The docker CLI's container commands against berth-agent --native.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <atomic>
#include <thread>

#include "agent_fixture.h"

namespace berth::test {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_F(AgentTest, RunRmPropagatesExitCodes) {
  auto r = docker({"run", "--rm", kImage, "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_NE(r.err.find("err\n"), std::string::npos);
  EXPECT_EQ(docker({"run", "--rm", kImage, "false"}).status, 1);
  EXPECT_EQ(docker({"run", "--rm", kImage, "true"}).status, 0);
  auto missing = docker({"run", "--rm", kImage, "no-such-command"});
  EXPECT_EQ(missing.status, 127) << missing.err;
  EXPECT_NE(missing.err.find("no-such-command"), std::string::npos) << missing.err;
  // --rm containers are gone, including the failed one.
  EXPECT_TRUE(eventually([] { return docker({"ps", "-aq"}).out.empty(); })) << docker({"ps", "-a"}).out;
  // Output larger than a pipe buffer arrives whole.
  auto big = docker({"run", "--rm", kImage, "sh", "-c", "seq 1 20000"});
  EXPECT_EQ(big.status, 0);
  EXPECT_EQ(std::count(big.out.begin(), big.out.end(), '\n'), 20000);
}

TEST_F(AgentTest, DetachedLogsFollowStopRemove) {
  auto d = docker({"run", "-d", "--name", "ticker", kImage, "sh", "-c",
                   "trap 'echo got-term; exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"});
  ASSERT_EQ(d.status, 0) << d.err;
  std::string id = trim(d.out);
  EXPECT_EQ(id.size(), 64u);
  ASSERT_TRUE(eventually([] { return docker({"logs", "ticker"}).out.find("tick 3") != std::string::npos; }));
  CommandResult follow;
  std::thread t([&] { follow = docker({"logs", "-f", "--tail", "1", "ticker"}, "", 30); });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto stop = docker({"stop", "ticker"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  t.join();  // follow ends with the container
  EXPECT_EQ(follow.status, 0) << follow.err;
  EXPECT_NE(follow.out.find("tick"), std::string::npos);
  EXPECT_NE(follow.out.find("got-term"), std::string::npos) << follow.out;
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ticker"}).out), "exited 0");
  auto since = docker({"logs", "--tail", "2", "-t", "ticker"});
  EXPECT_EQ(std::count(since.out.begin(), since.out.end(), '\n'), 2) << since.out;
  EXPECT_NE(since.out.find("Z got-term"), std::string::npos) << since.out;
  EXPECT_EQ(docker({"rm", "ticker"}).status, 0);
  EXPECT_NE(docker({"inspect", "ticker"}).status, 0);
}

TEST_F(AgentTest, InteractiveTtyUnderTmuxWithResize) {
  if (sh("command -v tmux").status != 0) GTEST_SKIP() << "tmux is not installed";
  std::string srv = "berth-agent-test-" + std::to_string(::getpid());
  auto tmux = [&](const std::string& args) { return sh("tmux -L " + srv + " -f /dev/null " + args); };
  auto start = tmux("new-session -d -s t -x 80 -y 24 'docker -H unix://" + socket_ + " run -it --name tty1 " + kImage + " sh'");
  ASSERT_EQ(start.status, 0) << start.err;
  auto pane = [&] { return tmux("capture-pane -p -t t").out; };
  bool running = eventually([] { return trim(docker({"inspect", "-f", "{{.State.Running}}", "tty1"}).out) == "true"; });
  EXPECT_TRUE(running) << pane();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  tmux("send-keys -t t 'stty size; tty' Enter");
  EXPECT_TRUE(eventually([&] { return pane().find("24 80") != std::string::npos; }, 5000)) << pane();
  EXPECT_NE(pane().find("/dev/pts/0"), std::string::npos);
  tmux("resize-window -t t -x 100 -y 40");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  tmux("send-keys -t t 'stty size' Enter");
  EXPECT_TRUE(eventually([&] { return pane().find("40 100") != std::string::npos; }, 5000)) << pane();
  // Detach with ctrl-p ctrl-q: the container keeps running; `docker attach` gets the shell back.
  tmux("send-keys -t t C-p C-q");
  EXPECT_TRUE(eventually([&] { return tmux("has-session -t t").status != 0; }, 5000)) << pane();
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Running}}", "tty1"}).out), "true");
  ASSERT_EQ(tmux("new-session -d -s a -x 80 -y 24 'docker -H unix://" + socket_ + " attach tty1'").status, 0);
  auto apane = [&] { return tmux("capture-pane -p -t a").out; };
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  tmux("send-keys -t a 'echo again-$((40+2))' Enter");
  EXPECT_TRUE(eventually([&] { return apane().find("again-42") != std::string::npos; }, 5000)) << apane();
  tmux("send-keys -t a 'exit 3' Enter");
  auto w = docker({"wait", "tty1"}, "", 20);
  EXPECT_EQ(trim(w.out), "3") << w.err << apane();
  tmux("kill-server");
  docker({"rm", "-f", "tty1"});
}

TEST_F(AgentTest, RunItUnderScriptAndPipedStdin) {
  auto r = sh("script -eqc \"stty cols 90 rows 20; docker -H unix://" + socket_ + " run -it --rm " + kImage +
              " sh -c 'stty size; exit 4'\" /dev/null", 60);
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_NE(r.out.find("20 90"), std::string::npos) << r.out;
  auto in = docker({"run", "-i", "--rm", kImage, "sh", "-c", "cat; echo done; exit 6"}, "line one\nline two\n");
  EXPECT_EQ(in.status, 6) << in.err;
  EXPECT_EQ(in.out, "line one\nline two\ndone\n");
  // Without a terminal stdin is data: ctrl-p ctrl-q (Docker's detach keys) pass through.
  std::string binary = std::string("a\x10\x11") + "b";
  auto raw = docker({"run", "-i", "--rm", kImage, "wc", "-c"}, binary);
  EXPECT_EQ(raw.status, 0) << raw.err;
  EXPECT_EQ(trim(raw.out), "4");
}

// A client that sends its stdin and half-closes before the container starts (a fast
// `docker run -i` against a slow VM) still gets its input to the process and the output back.
TEST_F(AgentTest, AttachThatHalfClosesBeforeStartKeepsItsInput) {
  ASSERT_EQ(docker({"create", "-i", "--name", "early", kImage, "cat"}).status, 0);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket_.c_str(), sizeof a.sun_path - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req =
      "POST /v1.41/containers/early/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\n"
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
  ASSERT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  std::string raw;
  char buf[4096];
  while (raw.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0) << raw;
    raw.append(buf, static_cast<size_t>(n));
  }
  EXPECT_EQ(raw.rfind("HTTP/1.1 101", 0), 0u) << raw;
  ASSERT_EQ(::send(fd, "early input\n", 12, MSG_NOSIGNAL), 12);
  ::shutdown(fd, SHUT_WR);
  ::usleep(1500000);  // the agent polls for a departed client every 500 ms: let it see the half-close
  ASSERT_EQ(docker({"start", "early"}).status, 0);
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  EXPECT_NE(raw.find("early input\n"), std::string::npos) << raw;
  EXPECT_EQ(trim(docker({"wait", "early"}, "", 20).out), "0");
}

TEST_F(AgentTest, ExecWithAndWithoutTty) {
  ASSERT_EQ(docker({"run", "-d", "--name", "ex", kImage, "sleep", "300"}).status, 0);
  auto plain = docker({"exec", "ex", "sh", "-c", "echo exec-out; echo exec-err >&2; exit 5"});
  EXPECT_EQ(plain.status, 5);
  EXPECT_EQ(plain.out, "exec-out\n");
  EXPECT_EQ(plain.err, "exec-err\n");
  auto stdin_exec = docker({"exec", "-i", "ex", "sh", "-c", "tr a-z A-Z"}, "shout\n");
  EXPECT_EQ(stdin_exec.out, "SHOUT\n");
  auto binary = docker({"exec", "-i", "ex", "wc", "-c"}, std::string("x\x10\x11y\n"));
  EXPECT_EQ(trim(binary.out), "5") << binary.err;
  auto env = docker({"exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", "ex", "sh", "-c", "echo $X $(pwd) $(id -u)"});
  EXPECT_EQ(env.out, "1 /tmp 65534\n") << env.err;
  auto tty = sh("script -eqc \"stty cols 70 rows 10; docker -H unix://" + socket_ +
                    " exec -it ex sh -c 'stty size; tty; exit 7'\" /dev/null",
                60);
  EXPECT_EQ(tty.status, 7) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("10 70"), std::string::npos) << tty.out;
  EXPECT_NE(tty.out.find("/dev/pts/"), std::string::npos);
  auto detached = docker({"exec", "-d", "ex", "sh", "-c", "echo bg > /tmp/bg"});
  EXPECT_EQ(detached.status, 0);
  EXPECT_TRUE(eventually([] { return docker({"exec", "ex", "cat", "/tmp/bg"}).out == "bg\n"; }));
  auto nobin = docker({"exec", "ex", "no-such-binary"});
  EXPECT_EQ(nobin.status, 127) << nobin.err;
  EXPECT_NE(nobin.err.find("no-such-binary"), std::string::npos) << nobin.err;
  auto missing = docker({"exec", "nosuch", "true"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("No such container: nosuch"), std::string::npos) << missing.err;
  // Exec into a stopped container: 409.
  ASSERT_EQ(docker({"stop", "-t", "1", "ex"}).status, 0);
  auto stopped = docker({"exec", "ex", "true"});
  EXPECT_NE(stopped.status, 0);
  EXPECT_NE(stopped.err.find("is not running"), std::string::npos) << stopped.err;
}

TEST_F(AgentTest, CopyBothWays) {
  ASSERT_EQ(docker({"run", "-d", "--name", "cp1", kImage, "sleep", "300"}).status, 0);
  std::string host = dir_ + "/cp";
  sh("mkdir -p " + host + "/tree/sub && echo one > " + host + "/file.txt && echo two > " + host + "/tree/sub/x");
  EXPECT_EQ(docker({"cp", host + "/file.txt", "cp1:/tmp/"}).status, 0);
  EXPECT_EQ(docker({"exec", "cp1", "cat", "/tmp/file.txt"}).out, "one\n");
  EXPECT_EQ(docker({"cp", host + "/tree", "cp1:/tmp/tree"}).status, 0);
  EXPECT_EQ(docker({"exec", "cp1", "cat", "/tmp/tree/sub/x"}).out, "two\n");
  auto out = docker({"cp", "cp1:/etc/passwd", host + "/passwd"});
  EXPECT_EQ(out.status, 0) << out.err;
  EXPECT_NE(read_file(host + "/passwd").find("root:x:0:0"), std::string::npos);
  EXPECT_EQ(docker({"cp", "cp1:/tmp/tree", host + "/back"}).status, 0);
  EXPECT_EQ(read_file(host + "/back/sub/x"), "two\n");
  auto missing = docker({"cp", "cp1:/no/such/file", host + "/x"});
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.err.find("Could not find the file /no/such/file in container cp1"), std::string::npos) << missing.err;
  // Stopped containers too (their rootfs).
  ASSERT_EQ(docker({"stop", "-t", "1", "cp1"}).status, 0);
  EXPECT_EQ(docker({"cp", "cp1:/tmp/file.txt", host + "/after"}).status, 0);
  EXPECT_EQ(read_file(host + "/after"), "one\n");
  // The archive endpoint's stat header, as docker cp reads it.
  auto head = http("HEAD", "/v1.47/containers/cp1/archive?path=/etc/passwd");
  EXPECT_EQ(head.status, 200);
  EXPECT_NE(head.headers.find("X-Docker-Container-Path-Stat: "), std::string::npos);
  // export
  auto exp = sh("docker -H unix://" + socket_ + " export cp1 | tar t | grep -c '^bin/busybox$'");
  EXPECT_EQ(trim(exp.out), "1");
}

TEST_F(AgentTest, PsFiltersInspectWaitKill) {
  ASSERT_EQ(docker({"run", "-d", "--name", "alpha", "--label", "tier=web", kImage, "sh", "-c", "exit 7"}).status, 0);
  ASSERT_EQ(docker({"run", "-d", "--name", "beta", "--label", "tier=db", kImage, "sleep", "300"}).status, 0);
  auto w = docker({"wait", "alpha"});
  EXPECT_EQ(trim(w.out), "7");
  auto names = [](std::vector<std::string> args) {
    args.insert(args.begin(), "ps");
    args.insert(args.end(), {"--format", "{{.Names}}"});
    return trim(docker(args).out);
  };
  EXPECT_EQ(names({}), "beta");
  EXPECT_EQ(names({"-a", "--filter", "label=tier=web"}), "alpha");
  EXPECT_EQ(names({"-a", "--filter", "exited=7"}), "alpha");
  EXPECT_EQ(names({"-a", "--filter", "status=running"}), "beta");
  EXPECT_EQ(names({"-a", "--filter", "name=alp"}), "alpha");
  EXPECT_EQ(names({"-a", "--filter", "ancestor=" + std::string(kImage), "--filter", "label=tier=db"}), "beta");
  EXPECT_EQ(names({"-a", "--filter", "before=beta"}), "alpha");
  EXPECT_EQ(names({"-a", "--filter", "since=alpha"}), "beta");
  auto bad = docker({"ps", "--filter", "nonsense=1"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.err.find("invalid filter 'nonsense'"), std::string::npos) << bad.err;
  auto ps = docker({"ps", "-a", "--format", "{{.Status}}|{{.Command}}|{{.Image}}", "--filter", "name=alpha"});
  EXPECT_NE(ps.out.find("Exited (7)"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find(kImage), std::string::npos);

  auto insp = docker({"inspect", "alpha"});
  ASSERT_EQ(insp.status, 0);
  auto j = Json::parse(insp.out)[0];
  EXPECT_EQ(j["Name"], "/alpha");
  EXPECT_EQ(j["Path"], "sh");
  EXPECT_EQ(j["Args"], Json::array({"-c", "exit 7"}));
  EXPECT_EQ(j["State"]["Status"], "exited");
  EXPECT_EQ(j["State"]["ExitCode"], 7);
  EXPECT_FALSE(j["State"]["Running"]);
  EXPECT_NE(j["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["Config"]["Image"], kImage);
  EXPECT_EQ(j["Config"]["Labels"]["tier"], "web");
  EXPECT_EQ(j["Image"].get<std::string>().rfind("sha256:", 0), 0u);
  EXPECT_EQ(j["HostConfig"]["RestartPolicy"]["Name"], "no");
  EXPECT_TRUE(j["NetworkSettings"]["Networks"].is_object());
  EXPECT_TRUE(j["Mounts"].is_array());
  EXPECT_EQ(j["Config"]["Hostname"], j["Id"].get<std::string>().substr(0, 12));

  // kill -s: a trap sees the signal; the default KILL ends it with 137.
  ASSERT_EQ(docker({"run", "-d", "--name", "trapper", kImage, "sh", "-c",
                    "trap 'echo got-usr1' USR1; while true; do sleep 0.1; done"})
                .status,
            0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(docker({"kill", "-s", "USR1", "trapper"}).status, 0);
  EXPECT_TRUE(eventually([] { return docker({"logs", "trapper"}).out.find("got-usr1") != std::string::npos; }));
  EXPECT_EQ(docker({"kill", "trapper"}).status, 0);
  EXPECT_EQ(trim(docker({"wait", "trapper"}).out), "137");
  auto again = docker({"kill", "trapper"});
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("is not running"), std::string::npos);
  // rm of a running container needs -f.
  auto rm = docker({"rm", "beta"});
  EXPECT_NE(rm.status, 0);
  EXPECT_NE(rm.err.find("stop the container before removing or force remove"), std::string::npos) << rm.err;
  EXPECT_EQ(docker({"rm", "-f", "beta"}).status, 0);
}

TEST_F(AgentTest, PauseUnpauseStatsTopRename) {
  ASSERT_EQ(docker({"run", "-d", "--name", "busy", kImage, "sh", "-c", "while true; do sleep 0.1; done"}).status, 0);
  auto top = docker({"top", "busy"});
  EXPECT_EQ(top.status, 0) << top.err;
  EXPECT_NE(top.out.find("while true"), std::string::npos) << top.out;
  EXPECT_NE(top.out.find("PID"), std::string::npos);
  auto stats = docker({"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}} {{.PIDs}}", "busy"});
  EXPECT_EQ(stats.status, 0) << stats.err;
  EXPECT_EQ(stats.out.rfind("busy ", 0), 0u) << stats.out;
  EXPECT_EQ(stats.out.find("0B / 0B"), std::string::npos) << stats.out;  // memory is measured
  auto raw = http("GET", "/v1.47/containers/busy/stats?stream=false");
  ASSERT_EQ(raw.status, 200);
  auto sj = raw.json();
  EXPECT_GT(sj["cpu_stats"]["cpu_usage"]["total_usage"].get<uint64_t>(), 0u);
  EXPECT_GT(sj["memory_stats"]["usage"].get<uint64_t>(), 0u);
  EXPECT_GE(sj["pids_stats"]["current"].get<uint64_t>(), 1u);
  EXPECT_TRUE(sj["precpu_stats"].contains("system_cpu_usage"));

  EXPECT_EQ(docker({"pause", "busy"}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "busy"}).out), "paused true");
  EXPECT_NE(docker({"ps", "--format", "{{.Status}}"}).out.find("(Paused)"), std::string::npos);
  auto twice = docker({"pause", "busy"});
  EXPECT_NE(twice.status, 0);
  EXPECT_NE(twice.err.find("is already paused"), std::string::npos);
  EXPECT_EQ(docker({"unpause", "busy"}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}}", "busy"}).out), "running");

  EXPECT_EQ(docker({"rename", "busy", "busier"}).status, 0);
  EXPECT_EQ(trim(docker({"ps", "--format", "{{.Names}}"}).out), "busier");
  ASSERT_EQ(docker({"create", "--name", "other", kImage}).status, 0);
  auto clash = docker({"rename", "busier", "other"});
  EXPECT_NE(clash.status, 0);
  EXPECT_NE(clash.err.find("is already in use"), std::string::npos);
  EXPECT_EQ(docker({"restart", "-t", "1", "busier"}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Running}}", "busier"}).out), "true");
  EXPECT_EQ(docker({"stop", "-t", "1", "busier"}).status, 0);
  // Stopping a stopped container is fine (304 under the hood).
  EXPECT_EQ(docker({"stop", "busier"}).status, 0);
  auto gone = docker({"container", "prune", "-f"});
  EXPECT_EQ(gone.status, 0);
  EXPECT_TRUE(docker({"ps", "-aq"}).out.empty());
}

}  // namespace
}  // namespace berth::test
