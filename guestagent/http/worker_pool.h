// Threads for handlers. Handlers block (attach, wait, logs -f and events last as long as the
// client stays), so a fixed pool would starve; this one grows when every thread is busy, up to
// max_threads, and idle threads beyond `keep` retire after idle_timeout. Up to `eager` threads
// start at once; beyond that a supervisor adds one thread per `grow_delay` while jobs wait
// and no thread is free, so a burst of quick requests is served by a few threads (each thread
// that ever ran keeps a cached stack resident) while long-lived handlers still get their own.
// Stacks are small: handlers do not recurse deeply.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace berth::agent::http {

class WorkerPool {
 public:
  struct Options {
    size_t max_threads = 1024;
    size_t keep = 2;
    std::chrono::milliseconds idle_timeout{10000};
    // Virtual size only; what a handler touches is what counts (and is released on retire).
    // Image loads and pulls run third-party code (libarchive, OpenSSL) on these stacks.
    size_t stack_size = 1024 * 1024;
    size_t eager = 4;
    std::chrono::milliseconds grow_delay{5};
  };

  WorkerPool();
  explicit WorkerPool(Options options);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `job` on some worker; jobs queue when max_threads are busy.
  void post(std::function<void()> job);
  // No new jobs; waits (bounded) for running ones to finish.
  void stop(std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

  size_t threads() const;
  size_t peak_threads() const;

 private:
  static void* thread_main(void* self);
  static void* supervisor_main(void* self);
  void run();
  void supervise();
  bool spawn_locked();

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::condition_variable starved_cv_;  // jobs wait and no thread is free
  bool supervisor_started_ = false;
  bool supervisor_running_ = false;
  std::deque<std::function<void()>> jobs_;
  size_t threads_ = 0;
  size_t idle_ = 0;
  size_t peak_ = 0;
  bool stopping_ = false;
};

}  // namespace berth::agent::http
