#include "runtime/parallel.h"

#include "tensor/buffer_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace onnx_fp16::runtime {

namespace {

// How long a thread that ran out of work watches for more before it sleeps. A model's kernels
// call parallel_for one after another, a few microseconds to a few milliseconds each; putting
// the worker to sleep after each and waking it with a futex for the next cost a wake-up and a
// context switch per kernel on both threads (MobileNetV3-large, 2 threads: 11-14% of a run in
// the kernel's scheduler). The caller watches its workers finish the same way.
constexpr auto kWatchFor = std::chrono::microseconds(100);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until ready() or kWatchFor has passed; returns ready(). Every 64 turns it yields the
// processor: when the thread it waits for shares this one's processor, a pure spin held it
// until the scheduler's tick (PP-OCR cls, 2 threads: half the processes ran at 10 ms instead
// of 2 ms a run; yielding, all at 2.0-2.3 ms, MobileNetV3 unchanged).
template <typename Ready>
bool watch_for(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kWatchFor;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if (i % 64 == 0) {
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() > until) return ready();
    }
  }
}

// One pool for the process, started on first use with a worker per hardware thread beyond the
// caller's. Kernels of concurrent runs share it; a body running on a worker that calls
// parallel_for again runs inline, so workers never wait on each other.
class WorkerPool {
 public:
  static WorkerPool& instance() {
    static WorkerPool pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
    return pool;
  }

  std::size_t workers() const { return threads_.size(); }

  void submit(std::function<void()> job) {
    bool sleeping = false;
    {
      const std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
      queued_.store(jobs_.size(), std::memory_order_release);
      sleeping = sleepers_ > 0;
    }
    if (sleeping) wake_.notify_one();  // a watching worker sees queued_ without a wake-up
  }

  static bool on_worker() { return is_worker_; }

  ~WorkerPool() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    queued_.store(1, std::memory_order_release);  // ends the watching
    wake_.notify_all();
    for (auto& thread : threads_) thread.join();
  }

 private:
  explicit WorkerPool(unsigned count) {
    for (unsigned i = 0; i < count; ++i) threads_.emplace_back([this] { work(); });
  }

  void work() {
    is_worker_ = true;
    for (;;) {
      std::function<void()> job;
      watch_for([this] { return queued_.load(std::memory_order_acquire) > 0; });
      {
        std::unique_lock lock(mutex_);
        ++sleepers_;
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        --sleepers_;
        if (jobs_.empty()) return;  // stopping
        job = std::move(jobs_.front());
        jobs_.pop_front();
        queued_.store(jobs_.size(), std::memory_order_release);
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::atomic<std::size_t> queued_{0};  // jobs_.size(), readable without the lock
  int sleepers_ = 0;                    // workers in (or about to enter) wake_.wait
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  static thread_local bool is_worker_;
};

thread_local bool WorkerPool::is_worker_ = false;

}  // namespace

void parallel_for(int threads, std::size_t count, std::size_t grain,
                  const std::function<void(std::size_t, std::size_t)>& body) {
  if (count == 0) return;
  grain = std::max<std::size_t>(grain, 1);
  std::size_t chunks = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), (count + grain - 1) / grain);
  if (chunks > 1 && !WorkerPool::on_worker()) {
    chunks = std::min(chunks, WorkerPool::instance().workers() + 1);
  } else {
    chunks = 1;
  }
  if (chunks == 1) {
    body(0, count);
    return;
  }
  const std::size_t step = (count + chunks - 1) / chunks;
  chunks = (count + step - 1) / step;  // no empty trailing range
  std::mutex mutex;
  std::condition_variable done;
  std::atomic<std::size_t> pending = chunks - 1;  // changed under `mutex`
  std::exception_ptr failure;
  auto run_range = [&](std::size_t begin, std::size_t end) {
    try {
      body(begin, end);
    } catch (...) {
      const std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  for (std::size_t c = 1; c < chunks; ++c) {
    const std::size_t begin = c * step;
    const std::size_t end = std::min(count, begin + step);
    WorkerPool::instance().submit([&, begin, end] {
      run_range(begin, end);
      const std::lock_guard lock(mutex);
      if (--pending == 0) done.notify_one();
    });
  }
  run_range(0, std::min(count, step));
  watch_for([&] { return pending.load(std::memory_order_acquire) == 0; });
  // Taken even when the watch saw every range finish: a worker decrements under the lock, so
  // once the caller holds it no worker touches this frame's mutex or condition again.
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return pending.load() == 0; });
  if (failure) std::rethrow_exception(failure);
}

void fault_in(std::span<std::byte> fresh, int threads) {
  if (fresh.empty()) return;
  buffers::advise_huge_pages(fresh.data(), fresh.size());
  constexpr std::uintptr_t kPage = 4096;  // touching every small page also covers huge ones
  const auto start = reinterpret_cast<std::uintptr_t>(fresh.data());
  const std::uintptr_t first_page = start / kPage;
  const std::uintptr_t pages = (start + fresh.size() - 1) / kPage - first_page + 1;
  // 256 pages (1 MB) at least per range: a range's faults outweigh handing it to a worker.
  parallel_for(effective_threads(threads), pages, 256, [&](std::size_t begin, std::size_t end) {
    for (std::size_t page = begin; page < end; ++page) {
      // The page's first byte, or the span's where it starts inside the page.
      const std::uintptr_t address = std::max(start, (first_page + page) * kPage);
      *reinterpret_cast<volatile std::byte*>(address) = std::byte{0};
    }
  });
}

int effective_threads(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace onnx_fp16::runtime
