#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace berth::cli {

namespace {

const char* const kFrames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

bool Progress::stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDERR_FILENO) && !(term && std::string(term) == "dumb");
}

Progress::Progress(bool terminal) : terminal_(terminal) {}

Progress::~Progress() {
  if (!current_.empty()) done();
}

void Progress::step(const std::string& text) {
  if (text == current_) return;
  if (!current_.empty()) done();
  current_ = text;
  started_ = std::chrono::steady_clock::now();
  if (terminal_) {
    tick();
  } else {
    std::fprintf(stderr, "berth: %s...\n", text.c_str());
  }
}

void Progress::tick() {
  if (!terminal_ || current_.empty()) return;
  std::fprintf(stderr, "\r\033[K%s %s (%.0fs)", kFrames[frame_++ % 10], current_.c_str(), seconds_since(started_));
  std::fflush(stderr);
}

void Progress::finish_line(const char* mark) {
  if (current_.empty()) return;
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s %s (%.1fs)\n", mark, current_.c_str(), seconds_since(started_));
    std::fflush(stderr);
  }
  current_.clear();
}

void Progress::done() { finish_line("✓"); }

void Progress::fail() { finish_line("✗"); }

}  // namespace berth::cli
