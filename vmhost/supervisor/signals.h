// Signals for the vmhost's main loop as readable bytes (the self-pipe trick), so the loop
// can wait for a signal, a child's exit and a timeout in one poll().
#pragma once

#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"

namespace berth::supervisor {

class SignalPipe {
 public:
  // Handles SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGCHLD; ignores SIGPIPE. One per process.
  static Result<SignalPipe> install();
  int fd() const { return read_.get(); }
  // The signals received since the last call, in order.
  std::vector<int> drain();

 private:
  explicit SignalPipe(UniqueFd read) : read_(std::move(read)) {}
  UniqueFd read_;
};

}  // namespace berth::supervisor
