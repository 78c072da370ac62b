// `berth` with the real guest image (images/build with berth-agent as /init) and the
// host's docker CLI: containers run through docker.sock, bind mounts work both ways,
// `-it` works under a pty, images survive stop/start, a killed QEMU is reported and the
// next start works, delete removes everything.
//
// Skips (with the reason) while there is no guest image in the build tree
// (`ninja guest-image`, or BERTH_TEST_IMAGE_DIR) or its agent does not come up as PID 1.
#include <signal.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "berth_env.h"
#include "qemu.h"

namespace berth::vmtest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* const kImage = "busybox:berth-test";

std::string image_dir() {
  if (const char* env = std::getenv("BERTH_TEST_IMAGE_DIR"); env && *env) return env;
  return BERTH_BUILD_IMAGE_DIR;
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DockerVm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::find_program("qemu-system-x86_64").empty()) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
    if (test::find_program("docker").empty()) GTEST_SKIP() << "the docker CLI is not installed";
    std::string dir = image_dir();
    if (!fs::exists(dir + "/initramfs") || !fs::exists(dir + "/VERSION")) {
      GTEST_SKIP() << "no guest image in " << dir
                   << " (build it with `ninja guest-image`, which needs berth-agent, or set BERTH_TEST_IMAGE_DIR)";
    }
    env_ = std::make_unique<BerthEnv>(dir);
  }

  // Starts the instance; skips when the image's agent never answers (not PID-1 capable yet)
  // or answers without a Docker API (not built in yet). BERTH_TEST_REQUIRE_AGENT=1 makes
  // those failures. The verdict is remembered for this very image (ctest runs each test in
  // its own process), so that the other tests skip at once instead of booting again.
  // Use through START_OR_RETURN: a skip or failure here must end the test.
  void start(const std::string& name = "default") {
    bool required = std::getenv("BERTH_TEST_REQUIRE_AGENT") != nullptr;
    std::string marker = std::string(BERTH_VM_WORK_DIR) + "/agent-not-ready";
    std::string stamp = image_stamp();
    if (!required) {
      std::string recorded = read(marker);
      if (!recorded.empty() && recorded.rfind(stamp + "\n", 0) == 0) {
        GTEST_SKIP() << recorded.substr(stamp.size() + 1);
      }
    }
    auto r = env_->berth({"start", name, "--mount", env_->share(), "--timeout", "400"}, 500);
    bool agent_missing = r.err.find("waiting for the guest agent") != std::string::npos ||
                         r.err.find("its Docker API") != std::string::npos;
    if (r.status != 0 && agent_missing && !required) {
      std::string last = r.err.substr(0, r.err.find_last_not_of('\n') + 1);
      last = last.substr(last.rfind('\n') + 1);
      std::string why = "the guest agent in " + image_dir() + " is not ready for Docker yet: " + last;
      fs::create_directories(BERTH_VM_WORK_DIR);
      std::ofstream(marker) << stamp << "\n" << why;
      GTEST_SKIP() << why;
    }
    ASSERT_EQ(r.status, 0) << r.out << r.err << env_->diagnostics(name);
  }

  // Identifies the image's build: size and modification time of its initramfs.
  static std::string image_stamp() {
    std::error_code ec;
    auto path = image_dir() + "/initramfs";
    auto size = fs::file_size(path, ec);
    auto time = fs::last_write_time(path, ec).time_since_epoch().count();
    return std::to_string(size) + ":" + std::to_string(time);
  }

  void load_busybox(const std::string& name = "default") {
    std::string tar = env_->root() + "/busybox.tar";
    auto made = test::run({BERTH_MAKE_BUSYBOX_IMAGE, tar, kImage}, "", 120);
    ASSERT_EQ(made.status, 0) << made.err;
    auto loaded = env_->docker(name, {"load", "-i", tar});
    ASSERT_EQ(loaded.status, 0) << loaded.out << loaded.err << env_->diagnostics(name);
  }

  std::unique_ptr<BerthEnv> env_;
};

// GTEST_SKIP and ASSERT in a helper only leave the helper.
#define START_OR_RETURN(...)                              \
  do {                                                    \
    start(__VA_ARGS__);                                   \
    if (IsSkipped() || HasFatalFailure()) return;         \
  } while (0)
#define LOAD_BUSYBOX_OR_RETURN()                          \
  do {                                                    \
    load_busybox();                                       \
    if (HasFatalFailure()) return;                        \
  } while (0)

TEST_F(DockerVm, RunsContainersThroughTheSocket) {
  START_OR_RETURN();
  LOAD_BUSYBOX_OR_RETURN();

  auto hello = env_->docker("default", {"run", "--rm", kImage, "echo", "hello"});
  EXPECT_EQ(hello.status, 0) << hello.err << env_->diagnostics("default");
  EXPECT_EQ(hello.out, "hello\n");

  // The guest is pure cgroup v2: limits land in the container's own cgroup, which its cgroup
  // namespace shows at /sys/fs/cgroup.
  auto limits = env_->docker("default", {"run", "--rm", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5",
                                         kImage, "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max",
                                         "/sys/fs/cgroup/cpu.max"});
  EXPECT_EQ(limits.status, 0) << limits.err;
  EXPECT_EQ(limits.out, "67108864\n50\n50000 100000\n") << limits.err;

  // -v "$PWD:/src": the share is mounted at the same path in the guest.
  {
    std::ofstream(env_->share() + "/in.txt") << "from the host\n";
  }
  auto bind = env_->docker("default", {"run", "--rm", "-v", env_->share() + ":/src", kImage, "sh", "-c",
                                       "cat /src/in.txt && echo from the container > /src/out.txt"});
  EXPECT_EQ(bind.status, 0) << bind.err;
  EXPECT_EQ(bind.out, "from the host\n");
  EXPECT_EQ(read(env_->share() + "/out.txt"), "from the container\n");

  // stdin through a hijacked attach: EOF on our side must reach the container (half-close).
  auto cat = env_->docker("default", {"run", "--rm", "-i", kImage, "cat"}, 120, "piped through\n");
  EXPECT_EQ(cat.status, 0) << cat.err;
  EXPECT_EQ(cat.out, "piped through\n");

  // -it under a pseudo-terminal (script(1) gives docker one).
  std::string docker_cmd;
  for (const auto& e : env_->env()) docker_cmd += e + " ";
  docker_cmd += "DOCKER_HOST=unix://" + env_->docker_socket("default") + " docker run -it --rm " + kImage +
                " sh -c 'test -t 0 && test -t 1 && echo TTY-OK'";
  auto tty = test::run({"script", "-qec", "env " + docker_cmd, "/dev/null"}, "", 120);
  EXPECT_EQ(tty.status, 0) << tty.out << tty.err;
  EXPECT_NE(tty.out.find("TTY-OK"), std::string::npos) << tty.out;

  // Images live on the data disk: they survive a stop and a start.
  auto stop = env_->berth({"stop"}, 200);
  ASSERT_EQ(stop.status, 0) << stop.err << env_->diagnostics("default");
  START_OR_RETURN();
  // `berth start` returns before the overlay module has loaded: a container created at once
  // still gets an overlay rootfs, not a copy (the agent's rootfs gate).
  auto early = env_->docker("default", {"create", kImage, "true"});
  ASSERT_EQ(early.status, 0) << early.err;
  std::string early_id = early.out.substr(0, early.out.find('\n'));
  auto driver = env_->docker("default", {"inspect", "-f", "{{.GraphDriver.Name}}", early_id});
  EXPECT_EQ(driver.out, "overlay2\n") << driver.err;
  EXPECT_EQ(env_->docker("default", {"rm", early_id}).status, 0);
  auto inspect = env_->docker("default", {"image", "inspect", kImage});
  EXPECT_EQ(inspect.status, 0) << inspect.err;
  auto again = env_->docker("default", {"run", "--rm", kImage, "echo", "still here"});
  EXPECT_EQ(again.out, "still here\n") << again.err;
}

TEST_F(DockerVm, KilledQemuIsReportedAndTheNextStartWorks) {
  START_OR_RETURN();
  int qemu = std::atoi(read(env_->instance_dir("default") + "/qemu.pid").c_str());
  ASSERT_GT(qemu, 0);
  ::kill(qemu, SIGKILL);
  nlohmann::json st;
  for (int i = 0; i < 100; ++i) {
    st = env_->status("default");
    if (st.value("status", "") == "stopped") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(st.value("description", ""), "stopped (QEMU exited unexpectedly: killed by signal 9)") << st.dump();
  START_OR_RETURN();
  auto ping = env_->docker("default", {"version", "--format", "{{.Server.APIVersion}}"});
  EXPECT_EQ(ping.status, 0) << ping.err;
}

TEST_F(DockerVm, DeleteRemovesEverything) {
  START_OR_RETURN();
  LOAD_BUSYBOX_OR_RETURN();
  auto contexts = env_->berth({"docker-env"});
  EXPECT_EQ(contexts.status, 0);
  auto del = env_->berth({"delete", "--force"}, 200);
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_FALSE(fs::exists(env_->instance_dir("default")));
  auto list = env_->berth({"list", "--json"});
  EXPECT_EQ(list.out, "[]\n");
  std::vector<std::string> ctx_args = {"context", "ls", "--format", "{{.Name}}"};
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const auto& e : env_->env()) argv.push_back(e);
  argv.push_back("docker");
  argv.insert(argv.end(), ctx_args.begin(), ctx_args.end());
  auto ctx = test::run(argv, "", 30);
  EXPECT_EQ(ctx.out.find("berth-default"), std::string::npos) << ctx.out;
}

}  // namespace
}  // namespace berth::vmtest
