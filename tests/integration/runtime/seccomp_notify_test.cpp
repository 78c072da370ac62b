// SCMP_ACT_NOTIFY end to end: the runtime hands each process's seccomp listener to the agent
// at listenerPath (the init's at create, an exec'd process's at exec), and the agent's answer
// is what the container sees.
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "fixture.h"

namespace berth::test {
namespace {

// A seccomp agent that fakes success for every notified syscall without running it.
class FakingAgent {
 public:
  explicit FakingAgent(const std::string& path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    ok_ = ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(listener_, 4) == 0;
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~FakingAgent() {
    stop_ = true;
    accept_thread_.join();
    for (auto& t : handlers_) t.join();
    ::close(listener_);
  }
  bool ok() const { return ok_; }
  std::vector<Json> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int conn = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string data;
      int fd = receive_passed_fd(conn, &data);
      ::close(conn);
      if (fd < 0) continue;
      {
        std::lock_guard lock(mu_);
        messages_.push_back(Json::parse(data, nullptr, false));
      }
      handlers_.emplace_back([this, fd] { answer(fd); });
    }
  }

  void answer(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int rc = ::poll(&p, 1, 100);
      if (rc <= 0) continue;
      if (p.revents & (POLLHUP | POLLERR)) break;  // every process under this filter is gone
      seccomp_notif req{};
      if (::ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
      seccomp_notif_resp resp{};
      resp.id = req.id;
      resp.val = 0;
      resp.error = 0;  // "succeeded", and nothing was done
      (void)::ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
    ::close(fd);
  }

  int listener_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::vector<std::thread> handlers_;
  std::mutex mu_;
  std::vector<Json> messages_;
};

using SeccompNotifyTest = RuntimeTest;

const char* kFakedMkdir = "mkdir /tmp/faked && test ! -e /tmp/faked && echo faked";

Json notify_spec(Json spec, const std::string& listener) {
  spec["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", listener},
      {"listenerMetadata", "berth-test"},
      {"syscalls", Json::array({{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_NOTIFY"}}})}};
  return spec;
}

TEST_F(SeccompNotifyTest, AgentAnswersForTheInitAndForAnExec) {
  std::string sock = dir_ + "/agent.sock";
  FakingAgent agent(sock);
  ASSERT_TRUE(agent.ok());

  auto run = run_spec(notify_spec(base_spec({"sh", "-c", kFakedMkdir}), sock), unique_id("notify-run"));
  EXPECT_EQ(run.status, 0) << run.err;
  EXPECT_EQ(run.out, "faked\n") << run.err;

  write_spec(notify_spec(base_spec({"sleep", "60"}), sock));
  std::string id = unique_id("notify-exec");
  ASSERT_EQ(rt({"run", "--detach", "--bundle", bundle_, id}).status, 0);
  created_.push_back(id);
  auto exec = rt({"exec", id, "sh", "-c", kFakedMkdir});
  EXPECT_EQ(exec.status, 0) << exec.err;
  EXPECT_EQ(exec.out, "faked\n") << exec.err;
  (void)rt({"delete", "--force", id});

  auto msgs = agent.messages();
  ASSERT_EQ(msgs.size(), 3u) << "one listener per process: run's init, the detached init, the exec";
  for (const auto& m : msgs) {
    EXPECT_EQ(m.value("metadata", ""), "berth-test") << m.dump();
    EXPECT_EQ(m["fds"], Json::array({"seccompFd"})) << m.dump();
  }
  EXPECT_NE(msgs[2].value("pid", 0), msgs[2]["state"].value("pid", 0))
      << "the exec's own pid, with the container's state: " << msgs[2].dump();
  EXPECT_EQ(msgs[2]["state"].value("id", ""), id);
}

}  // namespace
}  // namespace berth::test
