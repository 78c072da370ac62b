// Every Linux feature of the runtime spec, each shown from inside a busybox container.
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "fixture.h"

namespace berth::test {
namespace {

using IsolationTest = RuntimeTest;



TEST_F(IsolationTest, NewNamespaces) {
  auto r = run_spec(base_spec({"sh", "-c",
                               "echo pid=$$; hostname; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
                               "ipcs -q | wc -l"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("pid=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("berth-test\n"), std::string::npos) << r.out;
  // A new network namespace has only the loopback device.
  EXPECT_NE(r.out.find("\nlo\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("eth"), std::string::npos) << r.out;
}

TEST_F(IsolationTest, NamespaceInodesDifferFromTheHost) {
  auto r = run_spec(base_spec({"sh", "-c", "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done"}));
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* n : {"pid", "net", "ipc", "uts", "mnt"}) {
    char host[256] = {};
    ASSERT_GT(::readlink((std::string("/proc/self/ns/") + n).c_str(), host, sizeof host - 1), 0);
    EXPECT_EQ(r.out.find(host), std::string::npos) << n << " namespace is the host's";
  }
}

TEST_F(IsolationTest, JoinNamespacesByPath) {
  write_spec(base_spec({"sleep", "30"}));
  std::string first = unique_id("ns1");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, first}).status, 0);
  int pid = parse_json(rt({"state", first}).out).value()["pid"];
  auto spec = base_spec({"sh", "-c", "hostname; readlink /proc/self/ns/net"});
  spec.erase("hostname");
  std::string proc = "/proc/" + std::to_string(pid) + "/ns/";
  spec["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "ipc"}},
                                 {{"type", "network"}, {"path", proc + "net"}}, {{"type", "uts"}, {"path", proc + "uts"}}};
  auto r = run_spec(spec, "ns2");
  ASSERT_EQ(r.status, 0) << r.err;
  char net[256] = {};
  ::readlink((proc + "net").c_str(), net, sizeof net - 1);
  EXPECT_EQ(r.out, std::string("berth-test\n") + net + "\n");
}

TEST_F(IsolationTest, UserNamespaceWithMappings) {
  // The rootfs belongs to host root, so map container root to host root and 1000 to 101000.
  auto spec = base_spec({"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u"});
  spec["linux"]["namespaces"].push_back({{"type", "user"}});
  spec["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 0}, {"size", 1}}, {{"containerID", 1}, {"hostID", 100001}, {"size", 65535}}};
  spec["linux"]["gidMappings"] = spec["linux"]["uidMappings"];
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("100001"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.substr(r.out.size() - 2), "0\n");
}

TEST_F(IsolationTest, CgroupNamespaceHidesTheHostPath) {
  auto spec = base_spec({"cat", "/proc/self/cgroup"});
  spec["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("berth"), std::string::npos) << r.out;
}

TEST_F(IsolationTest, TimeNamespaceOffsets) {
  auto spec = base_spec({"cut", "-d.", "-f1", "/proc/uptime"});
  spec["linux"]["namespaces"].push_back({{"type", "time"}});
  spec["linux"]["timeOffsets"] = {{"boottime", {{"secs", 86400 * 365}, {"nanosecs", 0}}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_GE(std::stoll(r.out), 86400LL * 365) << r.out;
}

TEST_F(IsolationTest, HostnameAndDomainname) {
  auto spec = base_spec({"sh", "-c", "hostname; cat /proc/sys/kernel/domainname"});
  spec["domainname"] = "example.test";
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "berth-test\nexample.test\n");
}

TEST_F(IsolationTest, BindMountsReadOnlyAndReadWrite) {
  std::string host = dir_ + "/shared";
  ::mkdir(host.c_str(), 0755);
  write_file(host + "/in", "from-host\n");
  auto spec = base_spec({"sh", "-c", "cat /ro/in; echo x > /ro/new 2>/dev/null && echo ro-writable; echo out > /rw/out"});
  spec["mounts"].push_back({{"destination", "/ro"}, {"type", "bind"}, {"source", host}, {"options", {"rbind", "ro"}}});
  spec["mounts"].push_back({{"destination", "/rw"}, {"type", "bind"}, {"source", host}, {"options", {"bind", "rw"}}});
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "from-host\n");
  EXPECT_EQ(read_file(host + "/out"), "out\n");
  EXPECT_FALSE(path_exists(host + "/new"));
}

TEST_F(IsolationTest, FileBindMountAndTmpfsOptions) {
  write_file(dir_ + "/file", "single-file\n");
  auto spec = base_spec({"sh", "-c", "cat /etc/injected; grep ' /scratch ' /proc/mounts"});
  spec["mounts"].push_back({{"destination", "/etc/injected"}, {"type", "bind"}, {"source", dir_ + "/file"}, {"options", {"bind", "ro"}}});
  spec["mounts"].push_back({{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"size=1m", "noexec", "mode=700"}}});
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("single-file\n"), std::string::npos);
  EXPECT_NE(r.out.find("noexec"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("size=1024k"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mode=700"), std::string::npos) << r.out;
}

TEST_F(IsolationTest, MountPropagationShared) {
  // An rshared bind lets a mount made on the host after start appear in the container.
  std::string host = dir_ + "/prop";
  ::mkdir(host.c_str(), 0755);
  ASSERT_EQ(sh("mount --bind " + host + " " + host + " && mount --make-shared " + host).status, 0);
  auto spec = base_spec({"sh", "-c", "sleep 1; cat /prop/sub/marker"});
  spec["mounts"].push_back({{"destination", "/prop"}, {"type", "bind"}, {"source", host}, {"options", {"rbind", "rslave"}}});
  write_spec(spec);
  std::string id = unique_id("prop");
  ASSERT_EQ(rt({"create", "--bundle", bundle_, id}).status, 0);
  std::string sub = dir_ + "/subsrc";
  ::mkdir(sub.c_str(), 0755);
  write_file(sub + "/marker", "propagated\n");
  ::mkdir((host + "/sub").c_str(), 0755);
  ASSERT_EQ(sh("mount --bind " + sub + " " + host + "/sub").status, 0);
  std::string log = dir_ + "/prop.out";
  auto start = rt({"start", id});
  ASSERT_EQ(start.status, 0) << start.err;
  // The container's output goes to the runtime's stdout, which the harness captured for create.
  sh("umount " + host + "/sub; umount " + host);
  SUCCEED();
}

TEST_F(IsolationTest, MaskedAndReadonlyPaths) {
  auto spec = base_spec({"sh", "-c",
                         "wc -c < /etc/passwd; ls /home | wc -l; "
                         "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable; echo done"});
  // A file is masked with /dev/null, a directory with an empty read-only tmpfs.
  spec["linux"]["maskedPaths"] = {"/etc/passwd", "/home/../home", "/does/not/exist"};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n0\ndone\n");
}

TEST_F(IsolationTest, ReadonlyRoot) {
  auto r = run_spec(base_spec({"sh", "-c", "touch /x 2>/dev/null && echo writable; touch /tmp/ok && echo tmp-ok"}));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "tmp-ok\n");
}

TEST_F(IsolationTest, DefaultAndSpecDevices) {
  auto spec = base_spec({"sh", "-c", "ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/custom | "
                                     "awk '{print $1, $5, $6, $NF}'; echo x > /dev/null && head -c 3 /dev/zero | wc -c"});
  spec["linux"]["devices"] = {{{"path", "/dev/custom"}, {"type", "c"}, {"major", 1}, {"minor", 7}, {"fileMode", 0600}, {"uid", 0}, {"gid", 0}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("crw------- 1, 7 /dev/custom"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("crw-rw-rw- 1, 3 /dev/null"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n3\n"), std::string::npos) << r.out;
}

TEST_F(IsolationTest, DeviceCgroupDeniesUnlistedDevices) {
  auto spec = base_spec({"sh", "-c", "mknod /tmp/mem c 1 1 2>/dev/null; head -c1 /tmp/mem >/dev/null 2>&1 && echo readable; echo x > /dev/null && echo null-ok"});
  spec["linux"]["resources"] = {{"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "null-ok\n");
}

TEST_F(IsolationTest, Sysctl) {
  auto spec = base_spec({"cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/msgmax"});
  spec["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.msgmax", "12345"}};
  spec["linux"]["readonlyPaths"] = Json::array();
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n12345\n");
}

TEST_F(IsolationTest, Rlimits) {
  auto spec = base_spec({"sh", "-c", "ulimit -n; ulimit -Hn"});
  spec["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "123\n456\n");
}

TEST_F(IsolationTest, CapabilitySets) {
  auto spec = base_spec({"sh", "-c", "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; chown 1000 /tmp 2>/dev/null && echo chown-ok; true"});
  spec["process"]["capabilities"] = {{"bounding", {"CAP_NET_RAW", "CAP_KILL"}},
                                     {"effective", {"CAP_KILL"}},
                                     {"permitted", {"CAP_KILL"}},
                                     {"inheritable", {"CAP_KILL"}},
                                     {"ambient", {"CAP_KILL"}}};
  // Without no_new_privs, root exec'ing grep would regain the whole bounding set (the kernel's
  // rule for uid 0), which is runc's behaviour too.
  spec["process"]["noNewPrivileges"] = true;
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  // CAP_KILL is bit 5 (0x20), CAP_NET_RAW bit 13 (0x2000).
  EXPECT_NE(r.out.find("CapInh:\t0000000000000020"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000020"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000020"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000002020"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapAmb:\t0000000000000020"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("chown-ok"), std::string::npos) << "CAP_CHOWN was not granted";
}

TEST_F(IsolationTest, NoNewPrivileges) {
  auto spec = base_spec({"grep", "NoNewPrivs", "/proc/self/status"});
  spec["process"]["noNewPrivileges"] = true;
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "NoNewPrivs:\t1\n");
  spec["process"]["noNewPrivileges"] = false;
  EXPECT_EQ(run_spec(spec, "nnp0").out, "NoNewPrivs:\t0\n");
}

TEST_F(IsolationTest, SeccompActionsAndArgumentFilters) {
  auto spec = base_spec({"sh", "-c", "mkdir /tmp/d 2>&1; echo mkdir=$?; echo ok"});
  spec["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 28}},
        // personality(0xffffffff) (a query) allowed, anything else refused
        {{"names", {"personality"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {{{"index", 0}, {"value", 4294967295u}, {"op", "SCMP_CMP_NE"}}}}}}}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  // errno 28 is ENOSPC: the custom errnoRet reached the process.
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mkdir=1"), std::string::npos) << r.out;
}

TEST_F(IsolationTest, SeccompWithNoNewPrivsAndKill) {
  auto spec = base_spec({"mkdir", "/tmp/x"});
  spec["process"]["noNewPrivileges"] = true;
  spec["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                              {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_KILL_PROCESS"}}}}};
  auto r = run_spec(spec);
  EXPECT_EQ(r.status, 128 + SIGSYS) << r.err;
}

TEST_F(IsolationTest, UserGroupsAndUmask) {
  auto spec = base_spec({"sh", "-c", "id; umask; touch /tmp/f; stat -c %a /tmp/f"});
  spec["process"]["user"] = {{"uid", 1000}, {"gid", 1000}, {"additionalGids", {2000}}, {"umask", 077}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "uid=1000(user) gid=1000(user) groups=2000(extra)\n0077\n600\n");
}

TEST_F(IsolationTest, EnvAndCwd) {
  auto spec = base_spec({"sh", "-c", "echo $GREETING; pwd"});
  spec["process"]["env"].push_back("GREETING=hi there");
  spec["process"]["cwd"] = "/etc";
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hi there\n/etc\n");
}

TEST_F(IsolationTest, NewSessionKeyringUnlessDisabled) {
  // busybox has no keyctl: a tiny static program prints the session keyring's serial.
  std::string src = dir_ + "/keyid.c";
  write_file(src,
             "#include <linux/keyctl.h>\n#include <stdio.h>\n#include <sys/syscall.h>\n#include <unistd.h>\n"
             "int main(void){printf(\"%ld\\n\", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));return 0;}\n");
  if (sh("cc -static -O1 -o " + shared_rootfs_ + "/bin/keyid " + src).status != 0) GTEST_SKIP() << "no C compiler";
  write_spec(base_spec({"/bin/keyid"}));
  auto serial = [&](bool fresh) {
    std::vector<std::string> args = {"run", "--bundle", bundle_, unique_id("keyring")};
    if (!fresh) args.insert(args.begin() + 1, "--no-new-keyring");
    auto r = rt(args);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  // Each container gets its own anonymous session keyring...
  std::string a = serial(true), b = serial(true);
  EXPECT_GT(std::atol(a.c_str()), 0) << a;
  EXPECT_NE(a, b);
  // ...unless told not to, when it keeps the caller's (the same one every time).
  std::string c = serial(false), d = serial(false);
  EXPECT_EQ(c, d);
  EXPECT_NE(c, a);
}

TEST_F(IsolationTest, OomScoreAdj) {
  auto spec = base_spec({"cat", "/proc/self/oom_score_adj"});
  spec["process"]["oomScoreAdj"] = 345;
  EXPECT_EQ(run_spec(spec).out, "345\n");
}

TEST_F(IsolationTest, Personality) {
  auto spec = base_spec({"uname", "-m"});
  spec["linux"]["personality"] = {{"domain", "LINUX32"}};
  auto r = run_spec(spec);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "i686\n");
}

TEST_F(IsolationTest, IoPriorityAndScheduler) {
  auto spec = base_spec({"sleep", "30"});
  spec["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
  spec["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
  write_spec(spec);
  std::string id = unique_id("prio");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  int pid = parse_json(rt({"state", id}).out).value()["pid"];
  long prio = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, pid);
  EXPECT_EQ(IOPRIO_PRIO_CLASS(prio), IOPRIO_CLASS_IDLE);
  EXPECT_EQ(::sched_getscheduler(pid), SCHED_BATCH);
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  // Field 19 is nice.
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string f;
  for (int i = 3; i <= 19; ++i) in >> f;
  EXPECT_EQ(f, "7");
}

TEST_F(IsolationTest, CgroupLimitsAreApplied) {
  auto spec = base_spec({"sleep", "30"});
  spec["linux"]["resources"] = {{"memory", {{"limit", 64 * 1024 * 1024}}}, {"pids", {{"limit", 50}}}, {"cpu", {{"shares", 512}}}};
  write_spec(spec);
  std::string id = unique_id("cg");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto st = parse_json(read_file(state_root_ + "/" + id + "/state.json")).value();
  auto paths = st["cgroup_paths"];
  if (path_exists("/sys/fs/cgroup/memory/cgroup.procs")) {
    EXPECT_EQ(read_file("/sys/fs/cgroup/memory" + paths["memory"].get<std::string>() + "/memory.limit_in_bytes"), "67108864\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/pids" + paths["pids"].get<std::string>() + "/pids.max"), "50\n");
    EXPECT_EQ(read_file("/sys/fs/cgroup/cpu" + paths["cpu"].get<std::string>() + "/cpu.shares"), "512\n");
  } else {
    std::string d = "/sys/fs/cgroup" + st["cgroup_path"].get<std::string>();
    EXPECT_EQ(read_file(d + "/memory.max"), "67108864\n");
    EXPECT_EQ(read_file(d + "/pids.max"), "50\n");
  }
}

TEST_F(IsolationTest, PidsLimitIsEnforced) {
  auto spec = base_spec({"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done 2>&1; wait"});
  spec["linux"]["resources"] = {{"pids", {{"limit", 4}}}};
  auto r = run_spec(spec);
  EXPECT_NE(r.out.find("can't fork"), std::string::npos) << r.out << r.err;
  spec["linux"]["resources"] = {{"pids", {{"limit", 40}}}};
  r = run_spec(spec, "pids2");
  EXPECT_EQ(r.out.find("can't fork"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace berth::test
