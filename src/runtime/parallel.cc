#include "runtime/parallel.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace onnx_fp16::runtime {

namespace {

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
    {
      const std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

  static bool on_worker() { return is_worker_; }

  ~WorkerPool() {
    {
      const std::lock_guard lock(mutex_);
      stopping_ = true;
    }
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
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
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
  std::size_t pending = chunks - 1;
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
  std::unique_lock lock(mutex);
  done.wait(lock, [&] { return pending == 0; });
  if (failure) std::rethrow_exception(failure);
}

}  // namespace onnx_fp16::runtime
