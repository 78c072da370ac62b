// Real engines that drive runc, driving berth-runtime instead: Debian's containerd (ctr run
// --runc-binary) and dockerd (--add-runtime). Each daemon runs on private sockets and dirs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "process.h"

namespace berth::test {
namespace {

bool wait_for_socket(const std::string& path, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::string which(const std::string& tool) {
  auto r = sh("command -v " + tool);
  return r.status == 0 ? r.out.substr(0, r.out.find('\n')) : "";
}

// A daemon started in the background; stopped with SIGTERM (then SIGKILL) on destruction.
struct Daemon {
  pid_t pid = -1;
  void start(const std::vector<std::string>& argv, const std::string& log) {
    pid = ::fork();
    if (pid == 0) {
      ::setsid();
      FILE* f = std::freopen(log.c_str(), "w", stdout);
      (void)f;
      ::dup2(1, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Daemon() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!is_root()) return;
    dir_ = make_temp_dir("berth-compat");
    image_ = dir_ + "/busybox.tar";
    image_ok_ = sh(std::string(BERTH_MAKE_IMAGE) + " " + image_ + " berth.test/busybox:1").status == 0;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) {
      sh("umount -R " + dir_ + "/*/* 2>/dev/null; umount -R " + dir_ + "/* 2>/dev/null");
      remove_tree(dir_);
    }
  }
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "engines need root";
    if (!image_ok_) GTEST_SKIP() << "could not build the busybox test image (busybox-static missing?)";
  }
  static std::string dir_, image_;
  static bool image_ok_;
};
std::string EngineTest::dir_, EngineTest::image_;
bool EngineTest::image_ok_ = false;

TEST_F(EngineTest, ContainerdRunsContainersThroughBerthRuntime) {
  if (which("containerd").empty() || which("ctr").empty()) GTEST_SKIP() << "containerd is not installed";
  std::string d = dir_ + "/containerd";
  ::mkdir(d.c_str(), 0700);
  write_file(d + "/config.toml", "version = 2\nroot = \"" + d + "/root\"\nstate = \"" + d +
                                     "/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"" +
                                     d + "/containerd.sock\"\n[ttrpc]\n  address = \"" + d + "/containerd.sock.ttrpc\"\n");
  Daemon containerd;
  containerd.start({"containerd", "--config", d + "/config.toml"}, d + "/containerd.log");
  ASSERT_TRUE(wait_for_socket(d + "/containerd.sock", 30)) << read_file(d + "/containerd.log");
  std::vector<std::string> ctr = {"ctr", "-a", d + "/containerd.sock", "-n", "berth"};
  auto with = [&](std::vector<std::string> extra) {
    auto argv = ctr;
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, "", 120);
  };
  auto imp = with({"image", "import", image_});
  ASSERT_EQ(imp.status, 0) << imp.err;

  auto r = with({"run", "--rm", "--runc-binary", BERTH_RUNTIME_BIN, "berth.test/busybox:1", "ctr1", "sh", "-c",
                 "echo hello from containerd; echo pid=$$; exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "hello from containerd\npid=1\n");

  // A detached task, exec into it, then kill and remove it: containerd's shim calls
  // create, start, exec, state, kill and delete on the runtime.
  auto d1 = with({"run", "-d", "--runc-binary", BERTH_RUNTIME_BIN, "berth.test/busybox:1", "ctr2", "sleep", "60"});
  ASSERT_EQ(d1.status, 0) << d1.err;
  // ctr can exit before containerd has copied the last output of a process that exits at
  // once (its IO wait races the exit), so the process lingers briefly after writing.
  auto ex = with({"task", "exec", "--exec-id", "e1", "ctr2", "sh", "-c", "echo exec-ok; sleep 0.3; exit 5"});
  EXPECT_EQ(ex.status, 5) << ex.err;
  EXPECT_EQ(ex.out, "exec-ok\n");
  auto ps = with({"task", "ps", "ctr2"});
  EXPECT_EQ(ps.status, 0) << ps.err;
  EXPECT_EQ(with({"task", "pause", "ctr2"}).status, 0);
  EXPECT_NE(with({"task", "ls"}).out.find("PAUSED"), std::string::npos);
  EXPECT_EQ(with({"task", "resume", "ctr2"}).status, 0);
  EXPECT_EQ(with({"task", "kill", "-s", "SIGKILL", "ctr2"}).status, 0);
  for (int i = 0; i < 100 && with({"task", "ls"}).out.find("STOPPED") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(with({"task", "rm", "ctr2"}).status, 0);
  EXPECT_EQ(with({"container", "rm", "ctr2"}).status, 0);
}

TEST_F(EngineTest, DockerdRunsContainersWithRuntimeBerth) {
  if (which("dockerd").empty() || which("docker").empty()) GTEST_SKIP() << "docker.io is not installed";
  std::string d = dir_ + "/docker";
  ::mkdir(d.c_str(), 0700);
  std::string sock = d + "/docker.sock";
  Daemon dockerd;
  dockerd.start({"dockerd", "--data-root", d + "/data", "--exec-root", d + "/exec", "-H", "unix://" + sock, "--pidfile",
                 d + "/docker.pid", "--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
                 "--add-runtime", std::string("berth=") + BERTH_RUNTIME_BIN, "--containerd-namespace", "berth-test",
                 "--containerd-plugins-namespace", "berth-test-plugins"},
                d + "/dockerd.log");
  ASSERT_TRUE(wait_for_socket(sock, 60)) << read_file(d + "/dockerd.log");
  auto docker = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"docker", "-H", "unix://" + sock});
    return run(args, "", 120);
  };
  // The daemon answers its socket before it is fully up; retry the first call briefly.
  CommandResult load;
  for (int i = 0; i < 20; ++i) {
    load = docker({"load", "-i", image_});
    if (load.status == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_EQ(load.status, 0) << load.err;

  // Docker's default config: seccomp profile, masked paths, capabilities, /dev/shm...
  auto r = docker({"run", "--rm", "--runtime", "berth", "--network", "none", "berth.test/busybox:1", "sh", "-c",
                   "echo hello from dockerd; grep Seccomp: /proc/self/status; exit 4"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_EQ(r.out, "hello from dockerd\nSeccomp:\t2\n");

  auto limits = docker({"run", "--rm", "--runtime", "berth", "--network", "none", "--read-only", "--cap-drop", "ALL",
                        "--memory", "64m", "berth.test/busybox:1", "sh", "-c", "touch /x 2>&1; grep CapEff /proc/self/status"});
  EXPECT_NE(limits.out.find("Read-only file system"), std::string::npos) << limits.out << limits.err;
  EXPECT_NE(limits.out.find("CapEff:\t0000000000000000"), std::string::npos) << limits.out;

  auto d1 = docker({"run", "-d", "--name", "bd1", "--runtime", "berth", "--network", "none", "berth.test/busybox:1", "sh", "-c",
                    "trap 'exit 0' TERM; while true; do echo tick; sleep 0.2; done"});
  ASSERT_EQ(d1.status, 0) << d1.err;
  auto ex = docker({"exec", "bd1", "sh", "-c", "echo exec-ok; exit 2"});
  EXPECT_EQ(ex.status, 2);
  EXPECT_EQ(ex.out, "exec-ok\n");
  EXPECT_EQ(docker({"pause", "bd1"}).status, 0);
  EXPECT_EQ(docker({"unpause", "bd1"}).status, 0);
  auto top = docker({"top", "bd1"});
  EXPECT_NE(top.out.find("while true"), std::string::npos) << top.out << top.err;
  auto stop = docker({"stop", "-t", "5", "bd1"});
  EXPECT_EQ(stop.status, 0) << stop.err;
  auto logs = docker({"logs", "bd1"});
  EXPECT_NE(logs.out.find("tick"), std::string::npos);
  auto inspect = docker({"inspect", "-f", "{{.State.ExitCode}}", "bd1"});
  EXPECT_EQ(inspect.out, "0\n");
  EXPECT_EQ(docker({"rm", "bd1"}).status, 0);
}

}  // namespace
}  // namespace berth::test
