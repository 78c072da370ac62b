// Forwards a child's stdout/stderr (through a pipe) into the vmhost log line by line, and
// remembers the last lines, which usually say why the child failed.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <spdlog/spdlog.h>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::process {

class OutputLog {
 public:
  // Returns the write end for the child; the read end is drained on a thread.
  static Result<std::unique_ptr<OutputLog>> create(std::string prefix, std::shared_ptr<spdlog::logger> log,
                                                   UniqueFd& child_end);
  ~OutputLog();
  // Waits until every copy of the child's end is closed (the child exited).
  void finish();
  std::string last_line();

 private:
  OutputLog(std::string prefix, std::shared_ptr<spdlog::logger> log, UniqueFd read_end);
  void run();

  std::string prefix_;
  std::shared_ptr<spdlog::logger> log_;
  UniqueFd read_end_;
  std::thread thread_;
  std::mutex mu_;
  std::deque<std::string> last_;
};

}  // namespace berth::process
