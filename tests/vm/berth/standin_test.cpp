// `berth` end to end with a stand-in guest agent (standin_agent.c) as the image's /init:
// the host side — start/stop/restart/status/list/delete, the vsock transport, the Docker
// socket bridge with half-close, virtiofs in both directions, crash handling — without
// depending on the real agent. Boots under TCG; builds its image with images/build.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "berth/common/unique_fd.h"
#include "berth_env.h"
#include "qemu.h"

namespace berth::vmtest {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr int kExitOffline = 3;  // images/build: Debian packages could not be fetched

std::string g_image_dir;
std::string g_skip_reason;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int read_pid(const std::string& path) { return std::atoi(read(path).c_str()); }

class StandinVm : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::find_program("qemu-system-x86_64").empty()) {
      g_skip_reason = "qemu-system-x86_64 is not installed";
      return;
    }
    std::string out = std::string(BERTH_VM_WORK_DIR) + "/standin-image";
    // ctest runs each test in its own process: build once, reuse while it is up to date.
    std::error_code ec;
    auto built = fs::last_write_time(out + "/initramfs", ec);
    if (!ec && built > fs::last_write_time(BERTH_STANDIN_AGENT) && built > fs::last_write_time(BERTH_IMAGES_BUILD)) {
      g_image_dir = out;
      return;
    }
    std::string cmd = std::string(BERTH_IMAGES_BUILD) + " --arch amd64 --out " + out + " --cache " +
                      BERTH_IMAGE_CACHE + " --agent " + BERTH_STANDIN_AGENT + " --shim " + BERTH_STANDIN_AGENT +
                      " --runtime " + BERTH_STANDIN_AGENT + " 2>&1";
    auto r = test::run({"/bin/sh", "-c", cmd}, "", 900);
    if (r.status == kExitOffline) {
      g_skip_reason = "the Debian mirror is out of reach, so images/build cannot make the stand-in image";
      return;
    }
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    g_image_dir = out;
  }

  void SetUp() override {
    if (!g_skip_reason.empty()) GTEST_SKIP() << g_skip_reason;
    ASSERT_FALSE(g_image_dir.empty());
    env_ = std::make_unique<BerthEnv>(g_image_dir);
  }

  // `berth start` with the share mounted; asserts it comes up.
  void start(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"start", name, "--mount", env_->share(), "--timeout", "300"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = env_->berth(args, 400);
    ASSERT_EQ(r.status, 0) << r.out << r.err << env_->diagnostics(name);
    EXPECT_NE(r.out.find("export DOCKER_HOST=unix://" + env_->docker_socket(name)), std::string::npos) << r.out;
    ASSERT_EQ(env_->status(name).value("status", ""), "running") << env_->diagnostics(name);
  }

  // Runs a shell command in the guest through the Docker socket bridge.
  std::string guest_sh(const std::string& name, const std::string& command) {
    return http_over_unix(env_->docker_socket(name), "POST", "/standin/exec", command);
  }

  std::unique_ptr<BerthEnv> env_;
};

// An ASSERT in a helper only leaves the helper.
#define START_OR_RETURN(...)              \
  do {                                    \
    start(__VA_ARGS__);                   \
    if (HasFatalFailure()) return;        \
  } while (0)

TEST_F(StandinVm, StartBridgeMountsStop) {
  START_OR_RETURN("default");
  const std::string dir = env_->instance_dir("default");

  EXPECT_EQ(http_over_unix(env_->docker_socket("default"), "GET", "/_ping"), "HTTP/1.1 200 OK\nOK");
  // Host → guest and guest → host through the virtiofs share, at the same path.
  {
    std::ofstream(env_->share() + "/from-host") << "written on the host\n";
  }
  std::string out = guest_sh("default", "cat " + env_->share() + "/from-host && echo made-in-guest > " +
                                            env_->share() + "/from-guest && nproc");
  EXPECT_NE(out.find("written on the host"), std::string::npos) << out;
  EXPECT_NE(out.find("EXIT 0"), std::string::npos) << out;
  EXPECT_EQ(read(env_->share() + "/from-guest"), "made-in-guest\n");
  // The host's clock was pushed into the guest.
  std::string guest_time = guest_sh("default", "date +%s");
  long guest_now = std::atol(guest_time.substr(guest_time.find('\n') + 1).c_str());
  EXPECT_LT(std::labs(guest_now - static_cast<long>(::time(nullptr))), 30) << guest_time;

  // docker.sock is private; the socket the CLI printed is the one that works.
  struct stat st {};
  ASSERT_EQ(::stat(env_->docker_socket("default").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto list = env_->berth({"list"});
  EXPECT_NE(list.out.find("running"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(env_->docker_socket("default")), std::string::npos) << list.out;
  auto envr = env_->berth({"docker-env"});
  EXPECT_EQ(envr.out, "export DOCKER_HOST=unix://" + env_->docker_socket("default") + "\n");
  auto logs = env_->berth({"logs", "serial"});
  EXPECT_NE(logs.out.find("STANDIN: listening"), std::string::npos);
  auto hostlog = env_->berth({"logs", "default", "host"});
  EXPECT_NE(hostlog.out.find("running; Docker API"), std::string::npos);

  int qemu = read_pid(dir + "/qemu.pid");
  EXPECT_TRUE(process_running(qemu));
  auto stop = env_->berth({"stop"}, 120);
  ASSERT_EQ(stop.status, 0) << stop.err << env_->diagnostics("default");
  EXPECT_EQ(env_->status("default").value("status", ""), "stopped");
  EXPECT_EQ(env_->status("default").value("reason", ""), "");
  EXPECT_FALSE(process_running(qemu));
  // The agent was asked to power off: the guest said so on its console.
  EXPECT_NE(read(dir + "/serial.log").find("STANDIN: powering off"), std::string::npos);
  for (const char* gone : {"docker.sock", "qmp.sock", "vsock.sock", "vhost-vsock.sock", "virtiofs-0.sock",
                           "vmhost.pid", "qemu.pid", "virtiofs-0.pid"}) {
    EXPECT_FALSE(fs::exists(dir + "/" + gone)) << gone;
  }
}

TEST_F(StandinVm, HijackedStreamKeepsHalfClose) {
  START_OR_RETURN("default");
  // What `docker attach`/`exec` do: upgrade, stream, close stdin, keep reading output.
  UniqueFd owned(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int fd = owned.get();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, env_->docker_socket("default").c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string payload;
  for (int i = 0; i < 200000; ++i) payload += static_cast<char>('A' + i % 26);
  std::string request = "POST /standin/echo HTTP/1.1\r\nHost: berth\r\nContent-Length: 0\r\n\r\n";
  auto writer = std::async(std::launch::async, [&] {
    std::string all = request + payload;
    size_t off = 0;
    while (off < all.size()) {
      ssize_t n = ::send(fd, all.data() + off, all.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return ::shutdown(fd, SHUT_WR) == 0;
  });
  std::string got;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  owned.reset();
  EXPECT_TRUE(writer.get());
  std::string head = "HTTP/1.1 101 UPGRADED\r\n";
  ASSERT_EQ(got.rfind(head, 0), 0u) << got.substr(0, 200);
  size_t body = got.find("\r\n\r\n") + 4;
  // (Compared as booleans: a 200 KB mismatch is no use in a log.)
  EXPECT_EQ(got.size() - body, payload.size() + 9);
  EXPECT_TRUE(got.compare(body, payload.size(), payload) == 0) << "echoed bytes differ";
  EXPECT_EQ(got.substr(got.size() - 9), "EOF-SEEN\n");
}

TEST_F(StandinVm, KilledQemuIsReportedAndTheNextStartWorks) {
  START_OR_RETURN("default");
  const std::string dir = env_->instance_dir("default");
  int qemu = read_pid(dir + "/qemu.pid");
  ASSERT_GT(qemu, 0);
  ::kill(qemu, SIGKILL);
  nlohmann::json st;
  for (int i = 0; i < 100; ++i) {
    st = env_->status("default");
    if (st.value("status", "") == "stopped") break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(st.value("status", ""), "stopped") << st.dump();
  EXPECT_EQ(st.value("reason", ""), "QEMU exited unexpectedly: killed by signal 9") << st.dump();
  auto text = env_->berth({"status"});
  EXPECT_NE(text.out.find("stopped (QEMU exited unexpectedly: killed by signal 9)"), std::string::npos) << text.out;
  for (const char* gone : {"docker.sock", "qmp.sock", "vsock.sock", "vmhost.pid"}) {
    EXPECT_FALSE(fs::exists(dir + "/" + gone)) << gone;
  }
  START_OR_RETURN("default");
  EXPECT_EQ(http_over_unix(env_->docker_socket("default"), "GET", "/_ping"), "HTTP/1.1 200 OK\nOK");
}

TEST_F(StandinVm, KilledHostProcessTakesTheVmAlongAndIsCleanedUp) {
  START_OR_RETURN("default");
  const std::string dir = env_->instance_dir("default");
  int vmhost = read_pid(dir + "/vmhost.pid");
  int qemu = read_pid(dir + "/qemu.pid");
  ::kill(vmhost, SIGKILL);
  for (int i = 0; i < 50 && process_running(qemu); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(process_running(qemu)) << "QEMU outlived its host process";
  auto st = env_->status("default");
  EXPECT_EQ(st.value("status", ""), "stopped");
  EXPECT_NE(st.value("reason", "").find("died unexpectedly"), std::string::npos) << st.dump();
  // Its pid file and sockets are still there; the next start clears them and works.
  EXPECT_TRUE(fs::exists(dir + "/vmhost.pid"));
  START_OR_RETURN("default");
  EXPECT_NE(read_pid(dir + "/vmhost.pid"), vmhost);
}

TEST_F(StandinVm, ConcurrentStartsBootOneVm) {
  auto a = std::async(std::launch::async, [&] {
    return env_->berth({"start", "--mount", env_->share(), "--timeout", "300"}, 400);
  });
  auto b = std::async(std::launch::async, [&] {
    return env_->berth({"start", "--mount", env_->share(), "--timeout", "300"}, 400);
  });
  auto ra = a.get();
  auto rb = b.get();
  // One boots it; the other says it is already running (exit 0) or busy starting (exit 1).
  EXPECT_TRUE(ra.status == 0 || rb.status == 0) << ra.err << rb.err << env_->diagnostics("default");
  for (const auto* r : {&ra, &rb}) {
    if (r->status != 0) {
      EXPECT_NE(r->err.find("another berth process"), std::string::npos) << r->err;
    }
  }
  EXPECT_EQ(env_->status("default").value("status", ""), "running");
  auto log = read(env_->instance_dir("default") + "/vmhost.log");
  size_t launches = 0;
  for (size_t p = 0; (p = log.find("starting QEMU", p)) != std::string::npos; ++p) ++launches;
  EXPECT_EQ(launches, 1u);
}

TEST_F(StandinVm, RestartKeepsSettingsAndDeleteRemovesEverything) {
  START_OR_RETURN("dev", {"--cpus", "1", "--memory", "512M"});
  EXPECT_NE(guest_sh("dev", "nproc").find("1\n"), std::string::npos);
  auto restart = env_->berth({"restart", "dev"}, 400);
  ASSERT_EQ(restart.status, 0) << restart.err << env_->diagnostics("dev");
  auto st = env_->status("dev");
  EXPECT_EQ(st.value("status", ""), "running");
  EXPECT_EQ(st.value("cpus", 0), 1);
  EXPECT_EQ(st.value("memory", uint64_t{0}), uint64_t{512} << 20);
  std::string out = guest_sh("dev", "nproc; grep MemTotal /proc/meminfo");
  EXPECT_NE(out.find("1\n"), std::string::npos) << out;

  auto refused = env_->berth({"delete", "dev"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  int qemu = read_pid(env_->instance_dir("dev") + "/qemu.pid");
  auto del = env_->berth({"delete", "--force", "dev"}, 120);
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_FALSE(fs::exists(env_->instance_dir("dev")));
  EXPECT_FALSE(process_running(qemu));
  // The shared folder itself is the user's and stays.
  EXPECT_TRUE(fs::exists(env_->share()));
}

}  // namespace
}  // namespace berth::vmtest
