// A persistent compute pool: n-1 worker threads plus the calling thread. `run` hands every thread
// the same function with its index and waits for all. Between jobs (a decode step issues ~200)
// threads spin briefly, then yield the core, then sleep: fast when the cores are ours, polite when
// another process needs them, and free when idle.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace gb {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(ctx, ith, nth) on all threads; returns when all are done. Callers from several threads
  // (several models sharing the pool) take turns, one job at a time. Not reentrant.
  void run(void (*fn)(void* ctx, int ith, int nth), void* ctx);

  // The process-wide pool of this many threads: models loaded with the same thread count share it,
  // so they take turns on the cores instead of oversubscribing them.
  static std::shared_ptr<ThreadPool> shared(int n_threads);

  template <typename F>
  void parallel(F&& f) {
    run([](void* c, int ith, int nth) { (*static_cast<F*>(c))(ith, nth); }, &f);
  }

 private:
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void (*fn_)(void*, int, int) = nullptr;
  void* ctx_ = nullptr;
  std::mutex mutex_;
  std::mutex run_mutex_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
};

// Splits [0, n) into nth nearly equal ranges; returns thread ith's [begin, end).
static inline void split_range(int64_t n, int ith, int nth, int64_t* begin, int64_t* end) {
  const int64_t per = n / nth, extra = n % nth;
  *begin = ith * per + (ith < extra ? ith : extra);
  *end = *begin + per + (ith < extra ? 1 : 0);
}

// Number of hardware threads (cores visible to this process), at least 1.
int hardware_threads();

}  // namespace gb
