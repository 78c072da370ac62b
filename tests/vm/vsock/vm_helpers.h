// Helpers for tests that run QEMU and berth-vsockd as child processes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/unique_fd.h"

namespace berth::vsock::vmtest {

std::string find_in_path(const std::string& name);
std::string slurp(const std::string& path);
bool wait_for_path(const std::string& path, std::chrono::milliseconds timeout);
// Polls a file (e.g. a serial log) until it contains `needle`.
bool wait_for_text(const std::string& path, const std::string& needle, std::chrono::milliseconds timeout);

// A child process with stdout and stderr going to a file; killed if still running at the end.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& output);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  bool started() const { return pid_ > 0; }
  bool running() { return !exit_status(std::chrono::milliseconds(0)); }
  // The exit status (128 + signal when killed) once the child exited within the timeout.
  std::optional<int> exit_status(std::chrono::milliseconds timeout);
  void terminate();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Just enough QMP: one command at a time, events skipped.
class Qmp {
 public:
  bool connect(const std::string& path, std::chrono::milliseconds timeout);
  std::optional<nlohmann::json> execute(const std::string& command,
                                        const nlohmann::json& arguments = nlohmann::json::object());

 private:
  std::optional<nlohmann::json> read_message();
  UniqueFd fd_;
  std::string buf_;
};

// A fresh directory under /tmp, removed at the end unless the test failed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The QEMU command line shared by the tests: microvm, memfd RAM, our vhost-user device.
std::vector<std::string> qemu_base_args(const std::string& qemu, const std::string& vhost_socket);

}  // namespace berth::vsock::vmtest
