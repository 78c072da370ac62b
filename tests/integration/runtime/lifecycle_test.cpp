// The runc-compatible lifecycle: what engines rely on, verb by verb.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "fixture.h"

namespace berth::test {
namespace {

using LifecycleTest = RuntimeTest;

TEST_F(LifecycleTest, RunPrintsOutputAndPropagatesExitCode) {
  auto r = run_spec(base_spec({"sh", "-c", "echo hello; exit 7"}));
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_EQ(r.out, "hello\n");
}

TEST_F(LifecycleTest, RunReportsDeathBySignalLikeAShell) {
  // Without a pid namespace sh is not PID 1, so SIGTERM's default action applies.
  auto spec = base_spec({"sh", "-c", "kill -TERM $$"});
  spec["linux"]["namespaces"].erase(0);
  auto r = run_spec(spec);
  EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
}

TEST_F(LifecycleTest, RunRemovesTheContainerAfterwards) {
  auto r = run_spec(base_spec({"true"}), "gone");
  ASSERT_EQ(r.status, 0) << r.err;
  auto list = rt({"list", "-q"});
  EXPECT_EQ(list.out, "");
}

TEST_F(LifecycleTest, CreateStartStateKillDelete) {
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("life");
  std::string pidfile = dir_ + "/init.pid";
  auto c = rt({"create", "--bundle", bundle_, "--pid-file", pidfile, id});
  ASSERT_EQ(c.status, 0) << c.err;
  auto st = parse_json(rt({"state", id}).out).value();
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(st["id"], id);
  EXPECT_EQ(std::to_string(st["pid"].get<int>()), read_file(pidfile));
  EXPECT_EQ(st["bundle"], bundle_);
  EXPECT_TRUE(st.contains("ociVersion"));
  EXPECT_TRUE(st.contains("created"));

  ASSERT_EQ(rt({"start", id}).status, 0);
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "running");
  // A second start is refused, as runc refuses it.
  EXPECT_EQ(rt({"start", id}).status, 1);
  // Delete without force refuses a running container.
  auto del = rt({"delete", id});
  EXPECT_EQ(del.status, 1);
  EXPECT_NE(del.err.find("running"), std::string::npos) << del.err;

  auto list = parse_json(rt({"list", "--format", "json"}).out).value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);

  ASSERT_EQ(rt({"kill", id, "KILL"}).status, 0);
  for (int i = 0; i < 500 && parse_json(rt({"state", id}).out).value()["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "stopped");
  ASSERT_EQ(rt({"delete", id}).status, 0);
  EXPECT_EQ(rt({"state", id}).status, 1);
  EXPECT_FALSE(path_exists(state_root_ + "/" + id));
}

TEST_F(LifecycleTest, AnnotationsAreKeptInState) {
  auto spec = base_spec({"sleep", "30"});
  spec["annotations"] = {{"org.berth.test", "yes"}};
  write_spec(spec);
  std::string id = unique_id("ann");
  ASSERT_EQ(rt({"create", "--bundle", bundle_, id}).status, 0);
  auto st = parse_json(rt({"state", id}).out).value();
  EXPECT_EQ(st["annotations"]["org.berth.test"], "yes");
}

TEST_F(LifecycleTest, PauseResumeAndPs) {
  write_spec(base_spec({"sh", "-c", "sleep 30 & sleep 30"}));
  std::string id = unique_id("pause");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto pids = parse_json(rt({"ps", "--format", "json", id}).out).value();
  EXPECT_GE(pids.size(), 2u);
  auto table = rt({"ps", id});
  EXPECT_NE(table.out.find("PID"), std::string::npos);
  EXPECT_NE(table.out.find("sleep"), std::string::npos) << table.out;

  auto p = rt({"pause", id});
  ASSERT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "paused");
  // A frozen process does not run: its state in /proc is D (frozen) or S, never R, and it
  // does not react to SIGTERM until thawed.
  ASSERT_EQ(rt({"resume", id}).status, 0);
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "running");
  EXPECT_EQ(rt({"resume", id}).status, 1);  // not paused any more
}

TEST_F(LifecycleTest, KillAllSignalsEveryProcess) {
  write_spec(base_spec({"sh", "-c", "trap '' TERM; sleep 30 & wait"}));
  std::string id = unique_id("killall");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  ASSERT_EQ(rt({"kill", "--all", id, "9"}).status, 0);
  for (int i = 0; i < 500 && parse_json(rt({"state", id}).out).value()["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "stopped");
  EXPECT_EQ(rt({"kill", id, "BOGUS"}).status, 1);
}

TEST_F(LifecycleTest, ExecRunsInsideWithItsOwnExitCodeEnvAndCwd) {
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("exec");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto e = rt({"exec", "--env", "FOO=bar", "--cwd", "/etc", id, "sh", "-c", "echo $FOO $(pwd) $(hostname); exit 3"});
  EXPECT_EQ(e.status, 3) << e.err;
  EXPECT_EQ(e.out, "bar /etc berth-test\n");
  // Same pid namespace as init: pid 1 is the container's sleep.
  auto ps = rt({"exec", id, "cat", "/proc/1/cmdline"});
  EXPECT_EQ(ps.out.substr(0, 5), std::string("sleep"));
  auto user = rt({"exec", "--user", "1000:1000", id, "id"});
  EXPECT_EQ(user.out, "uid=1000(user) gid=1000(user)\n") << user.err;
  // --process JSON, as containerd passes it.
  write_file(dir_ + "/p.json", R"({"args":["sh","-c","echo from-process-json"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}})");
  auto pj = rt({"exec", "--process", dir_ + "/p.json", id});
  EXPECT_EQ(pj.out, "from-process-json\n") << pj.err;
  auto missing = rt({"exec", id, "no-such-binary"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
}

TEST_F(LifecycleTest, DetachedExecWritesPidFile) {
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("execd");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  std::string pidfile = dir_ + "/exec.pid";
  ASSERT_EQ(rt({"exec", "-d", "--pid-file", pidfile, id, "sleep", "20"}).status, 0);
  pid_t pid = std::stoi(read_file(pidfile));
  EXPECT_EQ(::kill(pid, 0), 0);
  auto pids = parse_json(rt({"ps", "--format", "json", id}).out).value();
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end()) << "exec'd process joined the cgroup";
}

TEST_F(LifecycleTest, UpdateChangesLimits) {
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("upd");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto u = rt({"update", "--pids-limit", "42", id});
  ASSERT_EQ(u.status, 0) << u.err;
  auto st = parse_json(read_file(state_root_ + "/" + id + "/state.json")).value();
  std::string pids_dir = "/sys/fs/cgroup/pids" + st["cgroup_paths"].value("pids", st["cgroup_path"].get<std::string>());
  if (path_exists("/sys/fs/cgroup/pids/cgroup.procs")) {
    EXPECT_EQ(read_file(pids_dir + "/pids.max"), "42\n");
  } else if (path_exists("/sys/fs/cgroup/cgroup.controllers")) {
    EXPECT_EQ(read_file("/sys/fs/cgroup" + st["cgroup_path"].get<std::string>() + "/pids.max"), "42\n");
  }
  write_file(dir_ + "/r.json", R"({"pids":{"limit":7}})");
  ASSERT_EQ(rt({"update", "--resources", dir_ + "/r.json", id}).status, 0);
  if (path_exists("/sys/fs/cgroup/pids/cgroup.procs")) {
    EXPECT_EQ(read_file(pids_dir + "/pids.max"), "7\n");
  }
}

TEST_F(LifecycleTest, SpecAndFeatures) {
  std::string d = dir_ + "/specdir";
  ::mkdir(d.c_str(), 0755);
  ASSERT_EQ(rt({"spec", "--bundle", d}).status, 0);
  auto spec = parse_json(read_file(d + "/config.json")).value();
  EXPECT_EQ(spec["process"]["args"][0], "sh");
  EXPECT_EQ(rt({"spec", "--bundle", d}).status, 1);  // refuses to overwrite
  auto f = parse_json(rt({"features"}).out).value();
  EXPECT_TRUE(f["linux"]["seccomp"]["enabled"].get<bool>());
  EXPECT_NE(std::find(f["linux"]["namespaces"].begin(), f["linux"]["namespaces"].end(), "time"), f["linux"]["namespaces"].end());
  auto v = rt({"--version"});
  EXPECT_NE(v.out.find("berth-runtime version"), std::string::npos);
}

TEST_F(LifecycleTest, SystemdCgroupIsRefusedClearly) {
  auto r = rt({"--systemd-cgroup", "state", "x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("systemd"), std::string::npos) << r.err;
}

TEST_F(LifecycleTest, JsonLogFormatForEngines) {
  std::string log = dir_ + "/log.json";
  auto r = rt({"--log", log, "--log-format", "json", "state", "does-not-exist"});
  EXPECT_EQ(r.status, 1);
  auto line = read_file(log);
  auto j = parse_json(line.substr(0, line.find('\n')));
  ASSERT_TRUE(j) << line;
  EXPECT_EQ((*j)["level"], "error");
  EXPECT_NE((*j)["msg"].get<std::string>().find("does-not-exist"), std::string::npos);
}

// Bad input: refused with a message naming the field, exit 1, nothing left behind.
class BadInputTest : public RuntimeTest {
 protected:
  void expect_refused(const Json& spec, const std::string& needle) {
    write_spec(spec);
    std::string id = unique_id("bad");
    auto r = rt({"create", "--bundle", bundle_, id});
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_FALSE(path_exists(state_root_ + "/" + id)) << "state dir left behind";
    for (const char* h : {"memory", "pids", "cpu", "freezer"}) {
      EXPECT_FALSE(path_exists(std::string("/sys/fs/cgroup/") + h + "/berth/" + id)) << "cgroup left behind in " << h;
    }
    EXPECT_FALSE(path_exists("/sys/fs/cgroup/berth/" + id));
  }
};

TEST_F(BadInputTest, MalformedJson) {
  write_file(bundle_ + "/config.json", "{not json");
  auto r = rt({"create", "--bundle", bundle_, unique_id("bad")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, WrongTypeNamesTheField) {
  auto spec = base_spec({"true"});
  spec["process"]["args"][0] = 5;
  expect_refused(spec, "process.args[0]");
}

TEST_F(BadInputTest, MissingRootfs) {
  auto spec = base_spec({"true"});
  spec["root"]["path"] = "nope";
  expect_refused(spec, "root.path");
}

TEST_F(BadInputTest, BadUidMapping) {
  auto spec = base_spec({"true"});
  spec["linux"]["namespaces"].push_back({{"type", "user"}});
  spec["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 4294967290u}, {"size", 100}}};
  spec["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}};
  expect_refused(spec, "uidMappings");
}

TEST_F(BadInputTest, MissingExecutableIsACreateTimeError) {
  expect_refused(base_spec({"/no/such/binary"}), "/no/such/binary");
}

TEST_F(BadInputTest, UnknownSeccompSyscallIsOnlyAWarning) {
  auto spec = base_spec({"sh", "-c", "echo ran"});
  spec["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                              {"syscalls", {{{"names", {"no_such_syscall", "mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  write_spec(spec);
  auto r = rt({"run", "--bundle", bundle_, unique_id("warn")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_NE(r.err.find("no_such_syscall"), std::string::npos) << r.err;
}

TEST_F(BadInputTest, DuplicateIdIsRefused) {
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("dup");
  ASSERT_EQ(rt({"create", "--bundle", bundle_, id}).status, 0);
  auto r = rt({"create", "--bundle", bundle_, id});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("already exists"), std::string::npos);
  EXPECT_EQ(parse_json(rt({"state", id}).out).value()["status"], "created") << "the first one is untouched";
}

TEST_F(BadInputTest, BadIdIsRefused) {
  write_spec(base_spec({"true"}));
  auto r = rt({"create", "--bundle", bundle_, "../escape"});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(path_exists(dir_ + "/escape"));
}

}  // namespace
}  // namespace berth::test
