// Volumes, binds and resource options; restart policies, events, the Docker SDK for Python,
// an agent restart with containers running, concurrency, bad input, memory.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "agent_fixture.h"

namespace berth::test {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_F(AgentTest, VolumesPersistAndAreProtected) {
  EXPECT_EQ(docker({"volume", "create", "--label", "k=v", "data1"}).status, 0);
  auto ls = docker({"volume", "ls", "--format", "{{.Driver}} {{.Name}}"});
  EXPECT_EQ(trim(ls.out), "local data1");
  auto insp = docker({"volume", "inspect", "data1"});
  ASSERT_EQ(insp.status, 0);
  auto j = Json::parse(insp.out)[0];
  EXPECT_EQ(j["Mountpoint"], state_ + "/volumes/data1/_data");
  EXPECT_EQ(j["Labels"]["k"], "v");
  EXPECT_EQ(docker({"run", "--rm", "-v", "data1:/data", kImage, "sh", "-c", "echo kept > /data/f"}).status, 0);
  auto again = docker({"run", "--rm", "-v", "data1:/data", kImage, "cat", "/data/f"});
  EXPECT_EQ(again.out, "kept\n");
  // --mount, read-only.
  auto ro = docker({"run", "--rm", "--mount", "type=volume,source=data1,target=/d,readonly", kImage, "sh", "-c",
                    "cat /d/f; touch /d/x 2>&1 || true"});
  EXPECT_NE(ro.out.find("kept"), std::string::npos);
  EXPECT_NE(ro.out.find("Read-only file system"), std::string::npos) << ro.out;
  // In use: refused with Docker's message.
  ASSERT_EQ(docker({"create", "--name", "holder", "-v", "data1:/data", kImage}).status, 0);
  auto busy = docker({"volume", "rm", "data1"});
  EXPECT_NE(busy.status, 0);
  EXPECT_NE(busy.err.find("volume is in use"), std::string::npos) << busy.err;
  EXPECT_EQ(docker({"rm", "holder"}).status, 0);
  EXPECT_EQ(docker({"volume", "rm", "data1"}).status, 0);
  EXPECT_TRUE(trim(docker({"volume", "ls", "-q"}).out).empty());
  auto none = docker({"volume", "inspect", "data1"});
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.err.find("no such volume"), std::string::npos) << none.err;
  // Anonymous volumes go with rm -v.
  ASSERT_EQ(docker({"create", "--name", "anon", "-v", "/scratch", kImage}).status, 0);
  EXPECT_EQ(trim(docker({"volume", "ls", "-q"}).out).size(), 64u);
  EXPECT_EQ(docker({"rm", "-v", "anon"}).status, 0);
  EXPECT_TRUE(trim(docker({"volume", "ls", "-q"}).out).empty());
}

TEST_F(AgentTest, BindMountsReadOnlyCapsMemory) {
  std::string host = dir_ + "/bind";
  sh("mkdir -p " + host + " && echo from-host > " + host + "/in");
  auto b = docker({"run", "--rm", "-v", host + ":/h", kImage, "sh", "-c", "cat /h/in; echo from-ctr > /h/out"});
  EXPECT_EQ(b.out, "from-host\n") << b.err;
  EXPECT_EQ(read_file(host + "/out"), "from-ctr\n");
  auto bro = docker({"run", "--rm", "-v", host + ":/h:ro", kImage, "sh", "-c", "touch /h/x 2>&1; true"});
  EXPECT_NE(bro.out.find("Read-only file system"), std::string::npos);
  // A -v host path that does not exist is created, as dockerd does.
  EXPECT_EQ(docker({"run", "--rm", "-v", host + "/new/dir:/n", kImage, "true"}).status, 0);
  EXPECT_TRUE(path_exists(host + "/new/dir"));

  auto ro = docker({"run", "--rm", "--read-only", "--tmpfs", "/run", kImage, "sh", "-c",
                    "touch /x 2>&1; touch /run/ok && echo tmpfs-ok"});
  EXPECT_NE(ro.out.find("Read-only file system"), std::string::npos) << ro.out;
  EXPECT_NE(ro.out.find("tmpfs-ok"), std::string::npos) << ro.out;

  auto caps = docker({"run", "--rm", "--cap-drop", "ALL", kImage, "grep", "CapEff", "/proc/self/status"});
  EXPECT_EQ(caps.out, "CapEff:\t0000000000000000\n") << caps.err;
  auto def = docker({"run", "--rm", kImage, "grep", "CapEff", "/proc/self/status"});
  EXPECT_EQ(def.out, "CapEff:\t00000000a80425fb\n") << def.err;  // Docker's default set
  auto chown = docker({"run", "--rm", "--cap-drop", "CHOWN", kImage, "sh", "-c", "chown nobody /tmp 2>&1; true"});
  EXPECT_NE(chown.out.find("Operation not permitted"), std::string::npos) << chown.out;

  auto mem = docker({"run", "--rm", "--memory", "64m", kImage, "sh", "-c",
                     "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"});
  EXPECT_EQ(mem.out, "67108864\n") << mem.err;
  auto seccomp = docker({"run", "--rm", kImage, "grep", "Seccomp:", "/proc/self/status"});
  EXPECT_EQ(seccomp.out, "Seccomp:\t2\n");
  auto unconfined = docker({"run", "--rm", "--security-opt", "seccomp=unconfined", kImage, "grep", "Seccomp:", "/proc/self/status"});
  EXPECT_EQ(unconfined.out, "Seccomp:\t0\n");
  auto etc = docker({"run", "--rm", "--hostname", "myhost", "--add-host", "db:10.1.2.3", kImage, "sh", "-c",
                     "hostname; grep db /etc/hosts; cat /etc/hostname"});
  EXPECT_EQ(etc.out, "myhost\n10.1.2.3\tdb\nmyhost\n") << etc.err;
  auto pid1 = docker({"run", "--rm", kImage, "sh", "-c", "echo $$"});
  EXPECT_EQ(pid1.out, "1\n");
}

TEST_F(AgentTest, RestartPolicyOnFailureAndAutoRemove) {
  ASSERT_EQ(docker({"run", "-d", "--name", "flaky", "--restart", "on-failure:2", kImage, "sh", "-c", "echo attempt; exit 3"}).status,
            0);
  EXPECT_TRUE(eventually([] {
    return trim(docker({"inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"}).out) == "2 exited";
  }, 20000)) << docker({"inspect", "flaky"}).out;
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.ExitCode}}", "flaky"}).out), "3");
  auto logs = docker({"logs", "flaky"});
  EXPECT_EQ(logs.out, "attempt\nattempt\nattempt\n");
  // always: restarted until stopped by hand.
  ASSERT_EQ(docker({"run", "-d", "--name", "always", "--restart", "always", kImage, "sh", "-c", "sleep 0.2; exit 0"}).status, 0);
  EXPECT_TRUE(eventually([] {
    auto n = trim(docker({"inspect", "-f", "{{.RestartCount}}", "always"}).out);
    return !n.empty() && std::stoi(n) >= 2;
  }, 20000));
  EXPECT_EQ(docker({"stop", "always"}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}}", "always"}).out), "exited");
  auto bad = docker({"run", "-d", "--restart", "sometimes", kImage, "true"});
  EXPECT_NE(bad.status, 0);
  // --rm with -d: gone after it exits.
  auto rm = docker({"run", "-d", "--rm", "--name", "brief", kImage, "true"});
  ASSERT_EQ(rm.status, 0);
  EXPECT_TRUE(eventually([] { return docker({"inspect", "brief"}).status != 0; }));
}

TEST_F(AgentTest, EventsStream) {
  auto since = std::to_string(::time(nullptr) - 1);
  ASSERT_EQ(docker({"run", "--name", "ev", kImage, "sh", "-c", "exit 4"}).status, 4);
  ASSERT_EQ(docker({"rm", "ev"}).status, 0);
  auto until = std::to_string(::time(nullptr) + 1);
  auto ev = docker({"events", "--since", since, "--until", until, "--filter", "container=ev", "--format",
                    "{{.Type}} {{.Action}} {{.Actor.Attributes.exitCode}}"});
  EXPECT_EQ(ev.status, 0) << ev.err;
  EXPECT_NE(ev.out.find("container create"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("container attach"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("container start"), std::string::npos);
  EXPECT_NE(ev.out.find("container die 4"), std::string::npos);
  EXPECT_NE(ev.out.find("container destroy"), std::string::npos);
  // Live: an exec and a pause seen by a running `docker events`.
  ASSERT_EQ(docker({"run", "-d", "--name", "live", kImage, "sleep", "300"}).status, 0);
  CommandResult live;
  std::thread t([&] {
    live = docker({"events", "--filter", "type=container", "--filter", "container=live", "--until",
                   std::to_string(::time(nullptr) + 4), "--format", "{{.Action}}"},
                  "", 20);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  docker({"exec", "live", "true"});
  docker({"pause", "live"});
  docker({"unpause", "live"});
  docker({"kill", "live"});
  t.join();
  EXPECT_NE(live.out.find("exec_create: true"), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("exec_start: true"), std::string::npos);
  EXPECT_NE(live.out.find("exec_die"), std::string::npos);
  EXPECT_NE(live.out.find("pause"), std::string::npos);
  EXPECT_NE(live.out.find("unpause"), std::string::npos);
  EXPECT_NE(live.out.find("kill"), std::string::npos);
  EXPECT_NE(live.out.find("die"), std::string::npos);
}

TEST_F(AgentTest, PythonDockerSdk) {
  if (sh("python3 -c 'import docker'").status != 0) GTEST_SKIP() << "python3-docker is not installed";
  std::string script = R"PY(
import docker, sys
c = docker.DockerClient(base_url="unix://SOCK")
assert c.ping()
ct = c.containers.create("IMAGE", ["sh", "-c", "echo sdk-out; echo sdk-err >&2; exit 9"], name="sdk1", labels={"via": "sdk"})
ct.start()
res = ct.wait(timeout=30)
assert res["StatusCode"] == 9, res
assert ct.logs(stdout=True, stderr=False) == b"sdk-out\n", ct.logs()
assert ct.logs(stdout=False, stderr=True) == b"sdk-err\n"
ct.reload()
assert ct.status == "exited" and ct.attrs["State"]["ExitCode"] == 9
assert [x.name for x in c.containers.list(all=True, filters={"label": "via=sdk"})] == ["sdk1"]
ct.remove()
out = c.containers.run("IMAGE", ["echo", "run-out"], remove=True)
assert out == b"run-out\n", out
d = c.containers.run("IMAGE", ["sleep", "30"], detach=True)
r = d.exec_run(["sh", "-c", "echo in-exec; exit 2"])
assert r.exit_code == 2 and r.output == b"in-exec\n", r
d.kill()
d.remove(force=True)
v = c.volumes.create("sdkvol")
assert c.volumes.get("sdkvol").name == "sdkvol"
v.remove()
try:
    c.containers.get("nope")
    sys.exit("expected NotFound")
except docker.errors.NotFound:
    pass
print("sdk-ok")
)PY";
  auto replace = [&](const std::string& what, const std::string& with) {
    for (size_t p = script.find(what); p != std::string::npos; p = script.find(what, p + with.size())) script.replace(p, what.size(), with);
  };
  replace("SOCK", socket_);
  replace("IMAGE", kImage);
  write_file(dir_ + "/sdk.py", script);
  auto r = run({"python3", dir_ + "/sdk.py"}, "", 120);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("sdk-ok"), std::string::npos);
}

TEST_F(AgentTest, AgentRestartKeepsContainers) {
  ASSERT_EQ(docker({"run", "-d", "--name", "survivor", kImage, "sh", "-c",
                    "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"})
                .status,
            0);
  ASSERT_EQ(docker({"run", "-d", "--name", "quitter", kImage, "sh", "-c", "sleep 1.5; exit 42"}).status, 0);
  ASSERT_EQ(docker({"create", "--name", "idle", kImage}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop_agent(SIGKILL);
  // quitter ends while no agent runs.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  ASSERT_TRUE(start_agent()) << agent_log();
  auto ps = docker({"ps", "-a", "--format", "{{.Names}} {{.State}}"});
  EXPECT_NE(ps.out.find("survivor running"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("quitter exited"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("idle created"), std::string::npos) << ps.out;
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.ExitCode}}", "quitter"}).out), "42");
  auto before = docker({"logs", "survivor"}).out;
  EXPECT_TRUE(eventually([&] { return docker({"logs", "survivor"}).out.size() > before.size(); }));
  // Still fully controllable: exec, stop, wait.
  EXPECT_EQ(docker({"exec", "survivor", "true"}).status, 0);
  EXPECT_EQ(docker({"stop", "-t", "1", "survivor"}).status, 0);
  EXPECT_EQ(trim(docker({"inspect", "-f", "{{.State.Status}}", "survivor"}).out), "exited");
  EXPECT_EQ(docker({"start", "idle"}).status, 0);
  EXPECT_EQ(trim(docker({"wait", "idle"}).out), "0");
}

TEST_F(AgentTest, TwoHundredConcurrentListRequests) {
  ASSERT_EQ(docker({"create", "--name", "listed", kImage}).status, 0);
  constexpr int kClients = 200;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&] {
      auto r = http("GET", "/v1.47/containers/json?all=1");
      if (r.status == 200 && r.json().is_array() && r.json().size() == 1) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
}

TEST_F(AgentTest, BadInputIsRefusedAndNothingIsHalfCreated) {
  auto count = [] { return docker({"ps", "-aq"}).out; };
  auto vols = [] { return docker({"volume", "ls", "-q"}).out; };
  auto before_c = count(), before_v = vols();
  auto dirs = [&] { return sh("ls " + state_ + "/containers | wc -l").out; };
  auto before_d = dirs();
  const std::string img = std::string("\"Image\":\"") + kImage + "\"";

  auto malformed = http("POST", "/v1.47/containers/create", "{\"Image\": ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_NE(malformed.json()["message"].get<std::string>().find("invalid JSON"), std::string::npos);
  auto types = http("POST", "/v1.47/containers/create", "{" + img + ",\"HostConfig\":{\"Memory\":\"lots\"}}");
  EXPECT_EQ(types.status, 400);
  EXPECT_EQ(types.json()["message"], "HostConfig.Memory: expected integer, got string");
  auto types2 = http("POST", "/v1.47/containers/create", "{" + img + ",\"Cmd\":[1,2]}");
  EXPECT_EQ(types2.status, 400);
  EXPECT_EQ(types2.json()["message"], "Cmd[0]: expected string, got integer");
  auto name = http("POST", "/v1.47/containers/create?name=no%20spaces", "{" + img + "}");
  EXPECT_EQ(name.status, 400);
  EXPECT_EQ(name.json()["message"], "Invalid container name (no spaces), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto first = http("POST", "/v1.47/containers/create?name=twin", "{" + img + "}");
  EXPECT_EQ(first.status, 201);
  auto dup = http("POST", "/v1.47/containers/create?name=twin", "{" + img + "}");
  EXPECT_EQ(dup.status, 409);
  EXPECT_NE(dup.json()["message"].get<std::string>().find("The container name \"/twin\" is already in use"), std::string::npos);
  auto cli_dup = docker({"create", "--name", "twin", kImage});
  EXPECT_EQ(cli_dup.status, 1);
  EXPECT_NE(cli_dup.err.find("Conflict. The container name \"/twin\" is already in use"), std::string::npos) << cli_dup.err;
  EXPECT_EQ(docker({"rm", "twin"}).status, 0);
  auto noimg = http("POST", "/v1.47/containers/create", "{\"Image\":\"berth.test/nosuch:1\"}");
  EXPECT_EQ(noimg.status, 404);
  EXPECT_EQ(noimg.json()["message"], "No such image: berth.test/nosuch:1");
  auto rel = http("POST", "/v1.47/containers/create", "{" + img + ",\"HostConfig\":{\"Binds\":[\"relative/dir:/x\"]}}");
  EXPECT_EQ(rel.status, 400);
  EXPECT_NE(rel.json()["message"].get<std::string>().find("If you intended to pass a host directory, use absolute path"),
            std::string::npos);
  auto src = http("POST", "/v1.47/containers/create",
                  "{" + img + ",\"HostConfig\":{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/nonexistent/berth\",\"Target\":\"/x\"}]}}");
  EXPECT_EQ(src.status, 400);
  EXPECT_EQ(src.json()["message"], "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent/berth");
  auto cli_src = docker({"run", "--rm", "--mount", "type=bind,source=/nonexistent/berth,target=/x", kImage, "true"});
  EXPECT_EQ(cli_src.status, 125);
  EXPECT_NE(cli_src.err.find("bind source path does not exist: /nonexistent/berth"), std::string::npos) << cli_src.err;
  // A named volume and a bad mount in one request: the volume is not created either.
  auto mixed = http("POST", "/v1.47/containers/create",
                    "{" + img + ",\"HostConfig\":{\"Binds\":[\"newvol:/a\",\"/x:/a\"]}}");
  EXPECT_EQ(mixed.status, 400);
  EXPECT_EQ(mixed.json()["message"], "Duplicate mount point: /a");
  auto nf = http("POST", "/v1.47/containers/nosuch/start");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.json()["message"], "No such container: nosuch");
  auto old = http("GET", "/v1.12/containers/json");
  EXPECT_EQ(old.status, 400);
  auto unknown = http("GET", "/v1.47/no/such/route");
  EXPECT_EQ(unknown.status, 404);
  auto badq = http("GET", "/v1.47/containers/json?filters=%7Bbad");
  EXPECT_EQ(badq.status, 400);
  EXPECT_EQ(count(), before_c);
  EXPECT_EQ(vols(), before_v);
  EXPECT_EQ(dirs(), before_d);
}

TEST_F(AgentTest, PingVersionInfoAndMemory) {
  auto ping = http("HEAD", "/_ping");
  EXPECT_EQ(ping.status, 200);
  EXPECT_NE(ping.headers.find("Api-Version: 1.47"), std::string::npos);
  EXPECT_NE(ping.headers.find("Ostype: linux"), std::string::npos);
  EXPECT_NE(ping.headers.find("Docker-Experimental: false"), std::string::npos);
  EXPECT_NE(ping.headers.find("Builder-Version:"), std::string::npos);
  auto v = docker({"version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"});
  EXPECT_EQ(trim(v.out), "1.47 linux") << v.err;
  auto info = docker({"info", "--format", "{{.Images}} {{.OSType}} {{.DockerRootDir}}"});
  EXPECT_EQ(trim(info.out), "1 linux " + state_) << info.err;
  // Resident memory once idle (after the image load and a container run).
  ASSERT_EQ(docker({"run", "--rm", kImage, "true"}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  long rss = agent_rss_kib();
  std::printf("berth-agent VmRSS idle: %ld KiB\n", rss);
  RecordProperty("agent_rss_kib", static_cast<int>(rss));
  EXPECT_GT(rss, 0);
  EXPECT_LT(rss, 24 * 1024) << "idle RSS regressed";
}

}  // namespace
}  // namespace berth::test
