// `berth start`/`stop` progress on stderr: a spinner with the current step and its
// elapsed time on a terminal, one plain line per step otherwise (logs, CI, pipes).
#pragma once

#include <chrono>
#include <string>

namespace berth::cli {

class Progress {
 public:
  explicit Progress(bool terminal);
  ~Progress();
  // Starts a new step, completing the current one.
  void step(const std::string& text);
  // Redraws the spinner (terminal only); call every ~100 ms.
  void tick();
  // Completes the current step successfully / marks it failed.
  void done();
  void fail();

  static bool stderr_is_terminal();

 private:
  void finish_line(const char* mark);

  bool terminal_;
  std::string current_;
  std::chrono::steady_clock::time_point started_;
  unsigned frame_ = 0;
};

}  // namespace berth::cli
