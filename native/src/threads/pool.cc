#include "threads/pool.h"

#include <sched.h>

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#define GB_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define GB_PAUSE() __asm__ __volatile__("yield")
#else
#define GB_PAUSE() ((void)0)
#endif

namespace gb {

int hardware_threads() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; i++) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::shared_ptr<ThreadPool> ThreadPool::shared(int n_threads) {
  static std::mutex registry_mutex;
  static std::vector<std::weak_ptr<ThreadPool>> registry;
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (auto& w : registry)
    if (auto p = w.lock())
      if (p->size() == n_threads) return p;
  auto p = std::make_shared<ThreadPool>(n_threads);
  registry.push_back(p);
  return p;
}

void ThreadPool::run(void (*fn)(void*, int, int), void* ctx) {
  if (n_threads_ == 1) {
    fn(ctx, 0, 1);
    return;
  }
  std::lock_guard<std::mutex> turn(run_mutex_);
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    // Publishing under the mutex pairs with the sleepers' predicate check: no lost wake-ups.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
  fn(ctx, 0, n_threads_);
  // Spin a little (workers usually finish within microseconds of us), then give the core away so
  // a descheduled worker can run when the machine is oversubscribed.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; spins++) {
    if (spins < 4096) GB_PAUSE();
    else sched_yield();
  }
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a while (sub-millisecond) waiting for the next job, then sleep.
    uint64_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
      int iter = 0;
      while ((gen = generation_.load(std::memory_order_acquire)) == seen && !stop_.load(std::memory_order_relaxed)) {
        if (++iter < 2048) GB_PAUSE();
        else sched_yield();  // keep polling, but let other runnable threads have the core
        if (iter % 256 == 0 && std::chrono::steady_clock::now() > spin_until) {
          std::unique_lock<std::mutex> lock(mutex_);
          sleepers_.fetch_add(1);
          wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
          sleepers_.fetch_sub(1);
          iter = 0;
          spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
        }
      }
    }
    if (stop_.load()) return;
    seen = gen;
    fn_(ctx_, ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace gb
