#include "worker_pool.h"

#include <malloc.h>
#include <pthread.h>
#include <sys/mman.h>

#include <cstdint>

#include "berth/common/log.h"

namespace berth::agent::http {

WorkerPool::WorkerPool() : WorkerPool(Options{}) {}
WorkerPool::WorkerPool(Options options) : options_(options) {}
WorkerPool::~WorkerPool() { stop(); }

namespace {
bool start_detached(void* (*fn)(void*), void* arg, size_t stack) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, stack);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  return rc == 0;
}
}  // namespace

bool WorkerPool::spawn_locked() {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, options_.stack_size);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, &WorkerPool::thread_main, this);
  pthread_attr_destroy(&attr);
  if (rc != 0) return false;
  ++threads_;
  if (threads_ > peak_) peak_ = threads_;
  return true;
}

void WorkerPool::post(std::function<void()> job) {
  std::lock_guard lock(mu_);
  if (stopping_) return;
  jobs_.push_back(std::move(job));
  if (jobs_.size() > idle_ && threads_ < options_.max_threads) {
    if (threads_ < options_.eager) {
      if (!spawn_locked() && threads_ == 0) log::get("agent")->error("cannot start a worker thread");
    } else {
      if (!supervisor_started_) {
        supervisor_started_ = supervisor_running_ = start_detached(&WorkerPool::supervisor_main, this, 64 * 1024);
      }
      starved_cv_.notify_one();
    }
  }
  cv_.notify_one();
}

void* WorkerPool::supervisor_main(void* self) {
  static_cast<WorkerPool*>(self)->supervise();
  return nullptr;
}

void WorkerPool::supervise() {
  std::unique_lock lock(mu_);
  auto starved = [&] { return jobs_.size() > idle_ && threads_ < options_.max_threads; };
  while (!stopping_) {
    starved_cv_.wait(lock, [&] { return stopping_ || starved(); });
    if (stopping_) break;
    // Give the busy threads a moment: quick requests finish well within it.
    starved_cv_.wait_for(lock, options_.grow_delay, [&] { return stopping_; });
    if (!stopping_ && starved()) spawn_locked();
  }
  supervisor_running_ = false;
  done_cv_.notify_all();
}

namespace {

// glibc caches the stacks of exited threads for reuse, with whatever pages their deepest calls
// touched. A retiring worker hands back everything below its current frame.
void release_unused_stack() {
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  void* base = nullptr;
  size_t size = 0;
  pthread_attr_getstack(&attr, &base, &size);
  pthread_attr_destroy(&attr);
  char here;
  const uintptr_t page = 4096;
  uintptr_t low = (reinterpret_cast<uintptr_t>(base) + page - 1) & ~(page - 1);
  uintptr_t high = (reinterpret_cast<uintptr_t>(&here) - 8 * 1024) & ~(page - 1);
  if (high > low) ::madvise(reinterpret_cast<void*>(low), high - low, MADV_DONTNEED);
}

}  // namespace

void* WorkerPool::thread_main(void* self) {
  static_cast<WorkerPool*>(self)->run();
  release_unused_stack();
  return nullptr;
}

void WorkerPool::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    bool got = cv_.wait_for(lock, options_.idle_timeout, [&] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (stopping_ && jobs_.empty()) break;
    if (!got) {
      if (threads_ > options_.keep) break;
      continue;
    }
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      log::get("agent")->error("worker: unhandled exception: {}", e.what());
    }
    job = nullptr;  // destroy captured state outside the lock
    lock.lock();
  }
  --threads_;
  // The last thread of a burst gives its memory back: arenas of 200 short-lived threads would
  // otherwise stay resident for the agent's lifetime.
  bool burst_over = threads_ == options_.keep && !stopping_;
  done_cv_.notify_all();
  lock.unlock();
  if (burst_over) ::malloc_trim(0);
}

void WorkerPool::stop(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  stopping_ = true;
  cv_.notify_all();
  starved_cv_.notify_all();
  done_cv_.wait_for(lock, wait, [&] { return threads_ == 0 && !supervisor_running_; });
}

size_t WorkerPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_;
}

size_t WorkerPool::peak_threads() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace berth::agent::http
