// A real registry for tests: Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a
// free port and private storage, optionally behind htpasswd basic auth. Stopped (by its pid)
// when the object goes.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "process.h"

namespace berth::test {

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

inline bool port_open(int port, const std::string& ip = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class RegistryProcess {
 public:
  // Empty string on success, else why it could not start.
  // `ip`: the IPv4 address to listen on (a free port is picked).
  std::string start(const std::string& dir, const std::string& htpasswd_file = "", const std::string& ip = "127.0.0.1") {
    dir_ = dir;
    ip_ = ip;
    std::filesystem::create_directories(dir + "/storage");
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      std::string config = "version: 0.1\n"
                           "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                           "storage:\n  filesystem:\n    rootdirectory: " + dir + "/storage\n  delete:\n    enabled: true\n"
                           "http:\n  addr: " + ip + ":" + std::to_string(port_) + "\n";
      if (!htpasswd_file.empty())
        config += "auth:\n  htpasswd:\n    realm: berth-test\n    path: " + htpasswd_file + "\n";
      write_file(dir + "/config.yml", config);
      pid_t pid = ::fork();
      if (pid == 0) {
        int log = ::open((dir + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        ::dup2(log, 1);
        ::dup2(log, 2);
        ::setpgid(0, 0);
        ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(), nullptr);
        ::_exit(127);
      }
      pid_ = pid;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (std::chrono::steady_clock::now() < deadline) {
        if (port_open(port_, ip)) return "";
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;  // lost the port race, or broken config: retry, then give up
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (pid_ > 0) {
        stop();
        return "docker-registry did not listen within 15s";
      }
    }
    if (pid_ <= 0) return "docker-registry exited: " + read_file(dir + "/registry.log");
    return "";
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  ~RegistryProcess() { stop(); }

  int port() const { return port_; }
  std::string host() const { return ip_ + ":" + std::to_string(port_); }
  std::string storage() const { return dir_ + "/storage"; }
  // The registry's own copy of a blob, to corrupt it behind its back.
  std::string blob_file(const std::string& digest) const {
    std::string hex = digest.substr(digest.find(':') + 1);
    return storage() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
  }

 private:
  std::string dir_;
  std::string ip_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace berth::test
