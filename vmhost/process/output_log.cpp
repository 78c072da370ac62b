#include "process/output_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace berth::process {

Result<std::unique_ptr<OutputLog>> OutputLog::create(std::string prefix, std::shared_ptr<spdlog::logger> log,
                                                     UniqueFd& child_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys_error("pipe");
  child_end = UniqueFd(fds[1]);
  std::unique_ptr<OutputLog> out(new OutputLog(std::move(prefix), std::move(log), UniqueFd(fds[0])));
  out->thread_ = std::thread([raw = out.get()] { raw->run(); });
  return out;
}

OutputLog::OutputLog(std::string prefix, std::shared_ptr<spdlog::logger> log, UniqueFd read_end)
    : prefix_(std::move(prefix)), log_(std::move(log)), read_end_(std::move(read_end)) {}

OutputLog::~OutputLog() { finish(); }

void OutputLog::finish() {
  if (thread_.joinable()) thread_.join();
}

std::string OutputLog::last_line() {
  std::lock_guard lock(mu_);
  return last_.empty() ? "" : last_.back();
}

void OutputLog::run() {
  std::string buf;
  char chunk[4096];
  auto emit = [&](std::string line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    if (line.empty()) return;
    log_->info("{}: {}", prefix_, line);
    std::lock_guard lock(mu_);
    last_.push_back(std::move(line));
    if (last_.size() > 5) last_.pop_front();
  };
  for (;;) {
    ssize_t n = ::read(read_end_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      emit(buf.substr(0, nl));
      buf.erase(0, nl + 1);
    }
    if (buf.size() > 8192) {
      emit(buf);
      buf.clear();
    }
  }
  emit(buf);
}

}  // namespace berth::process
