#include "berth_env.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "berth/common/unique_fd.h"

namespace berth::vmtest {

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string tail(const std::string& text, size_t max) { return text.size() > max ? text.substr(text.size() - max) : text; }

}  // namespace

bool process_running(int pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

BerthEnv::BerthEnv(std::string image_dir) : image_dir_(std::move(image_dir)) {
  // Short: Unix socket paths inside the instance directory are limited to 107 bytes.
  char tmpl[] = "/tmp/bvm-XXXXXX";
  char* d = ::mkdtemp(tmpl);
  root_ = d ? d : "/tmp";
  fs::create_directories(root_ + "/home");
  fs::create_directories(root_ + "/docker");
  fs::create_directories(share());
}

BerthEnv::~BerthEnv() {
  // Stop whatever still runs: `berth stop --force`, then the pid files as a last resort.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(home(), ec)) {
    std::string name = e.path().filename().string();
    if (fs::exists(e.path() / "vmhost.pid")) berth({"stop", "--force", name}, 60);
    for (const char* pidfile : {"vmhost.pid", "qemu.pid"}) {
      std::string text = slurp((e.path() / pidfile).string());
      int pid = std::atoi(text.c_str());
      if (pid > 0 && process_running(pid)) ::kill(pid, SIGKILL);
    }
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "berth test files kept in " << root_ << "\n";
    return;
  }
  fs::remove_all(root_, ec);
}

std::vector<std::string> BerthEnv::env() const {
  const char* path = std::getenv("PATH");
  return {"BERTH_HOME=" + home(), "HOME=" + root_ + "/home", "DOCKER_CONFIG=" + root_ + "/docker",
          "BERTH_IMAGE_DIR=" + image_dir_, std::string("PATH=") + (path ? path : "/usr/bin:/bin")};
}

test::CommandResult BerthEnv::berth(const std::vector<std::string>& args, int timeout_s) const {
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const auto& e : env()) argv.push_back(e);
  argv.push_back(BERTH_BIN);
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, "", timeout_s);
}

test::CommandResult BerthEnv::docker(const std::string& name, const std::vector<std::string>& args, int timeout_s,
                                     const std::string& input) const {
  std::vector<std::string> argv = {"/usr/bin/env"};
  for (const auto& e : env()) argv.push_back(e);
  argv.push_back("DOCKER_HOST=unix://" + docker_socket(name));
  argv.push_back("docker");
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run(argv, input, timeout_s);
}

nlohmann::json BerthEnv::status(const std::string& name) const {
  auto r = berth({"status", name, "--json"}, 30);
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

std::string BerthEnv::diagnostics(const std::string& name) const {
  return "\n--- vmhost.log ---\n" + tail(slurp(instance_dir(name) + "/vmhost.log"), 6000) +
         "\n--- serial.log ---\n" + tail(slurp(instance_dir(name) + "/serial.log"), 6000);
}

std::string http_over_unix(const std::string& socket, const std::string& method, const std::string& path,
                           const std::string& body) {
  UniqueFd owned(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int fd = owned.get();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return "connect failed: " + std::string(std::strerror(errno));
  }
  timeval tv{120, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: berth\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  size_t eol = out.find("\r\n");
  size_t head_end = out.find("\r\n\r\n");
  if (eol == std::string::npos || head_end == std::string::npos) return out;
  return out.substr(0, eol) + "\n" + out.substr(head_end + 4);
}

}  // namespace berth::vmtest
