#include "agent_fixture.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace berth::test {

std::string AgentTest::dir_, AgentTest::socket_, AgentTest::state_;
pid_t AgentTest::agent_pid_ = -1;
bool AgentTest::ready_ = false;
std::string AgentTest::skip_reason_;
std::vector<std::string> AgentTest::extra_args_;

Json HttpReply::json() const {
  try {
    return Json::parse(body);
  } catch (const std::exception&) {
    return nullptr;
  }
}

namespace {

bool have(const std::string& tool) { return sh("command -v " + tool + " >/dev/null").status == 0; }

// Undoes a chunked body (the agent streams some answers).
std::string dechunk(const std::string& in) {
  std::string out;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t n = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
    if (n == 0) break;
    out += in.substr(eol + 2, n);
    pos = eol + 2 + n + 2;
  }
  return out;
}

}  // namespace

void AgentTest::SetUpTestSuite() {
  if (!is_root()) {
    skip_reason_ = "berth-agent runs containers: needs root";
    return;
  }
  if (!have("docker")) {
    skip_reason_ = "the docker CLI is not installed";
    return;
  }
  // Short: shim sockets live below the state root.
  dir_ = make_temp_dir("bac");
  socket_ = dir_ + "/docker.sock";
  state_ = dir_ + "/state";
  auto img = sh(std::string(BERTH_MAKE_IMAGE) + " " + dir_ + "/busybox.tar " + kImage);
  if (img.status != 0) {
    skip_reason_ = "cannot build the busybox test image (busybox-static missing?): " + img.err;
    return;
  }
  if (!start_agent()) {
    skip_reason_ = "berth-agent did not start: " + agent_log();
    return;
  }
  auto load = docker({"load", "-i", dir_ + "/busybox.tar"});
  if (load.status != 0) {
    skip_reason_ = "docker load failed: " + load.err + load.out;
    return;
  }
  ready_ = true;
}

bool AgentTest::start_agent() {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    std::string log = dir_ + "/agent.log";
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<std::string> args = {BERTH_AGENT_BIN, "--native",          "--state-root", state_,
                                     "--socket",      socket_,             "--runtime",    BERTH_RUNTIME_BIN,
                                     "--shim",        BERTH_SHIM_BIN};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(BERTH_AGENT_BIN, argv.data());
    ::_exit(127);
  }
  agent_pid_ = pid;
  return eventually([] { return http("GET", "/_ping").status == 200; }, 20000);
}

void AgentTest::stop_agent(int sig) {
  if (agent_pid_ <= 0) return;
  ::kill(agent_pid_, sig);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(agent_pid_, nullptr, WNOHANG) == agent_pid_) {
      agent_pid_ = -1;
      return;
    }
    ::usleep(25000);
  }
  ::kill(agent_pid_, SIGKILL);
  ::waitpid(agent_pid_, nullptr, 0);
  agent_pid_ = -1;
}

// Containers first (they outlive the agent otherwise), then volumes.
void AgentTest::clean_up() {
  if (agent_pid_ > 0) {
    auto ids = docker({"ps", "-aq"});
    std::vector<std::string> rm = {"rm", "-f", "-v"};
    std::string id;
    for (char c : ids.out + "\n") {
      if (c == '\n') {
        if (!id.empty()) rm.push_back(id);
        id.clear();
      } else {
        id.push_back(c);
      }
    }
    if (rm.size() > 3) docker(rm, "", 120);
    docker({"volume", "prune", "-af"});
  }
}

void AgentTest::TearDownTestSuite() {
  clean_up();
  if (agent_pid_ > 0) stop_agent(SIGTERM);
  if (!dir_.empty()) {
    sh("grep -o ' " + dir_ + "[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null");
    remove_tree(dir_);
  }
}

void AgentTest::SetUp() {
  if (!ready_) GTEST_SKIP() << skip_reason_;
}

void AgentTest::TearDown() {
  if (HasFailure()) std::printf("---- berth-agent log ----\n%s\n", agent_log().c_str());
  // Each test starts from no containers and volumes, also when several run in one process.
  clean_up();
}

CommandResult AgentTest::docker(std::vector<std::string> args, const std::string& input, int timeout_s) {
  args.insert(args.begin(), {"docker", "-H", "unix://" + socket_});
  return run(args, input, timeout_s);
}

HttpReply AgentTest::http(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& content_type) {
  HttpReply r;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket_.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) {
    ::close(fd);
    return r;
  }
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n";
  if (!body.empty()) req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return r;
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.headers = raw.substr(0, end);
  r.body = raw.substr(end + 4);
  if (r.headers.find("Transfer-Encoding: chunked") != std::string::npos) r.body = dechunk(r.body);
  return r;
}

std::string AgentTest::agent_log() { return path_exists(dir_ + "/agent.log") ? read_file(dir_ + "/agent.log") : ""; }

long AgentTest::agent_rss_kib() {
  std::ifstream f("/proc/" + std::to_string(agent_pid_) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace berth::test
