#include "tensor/buffer_pool.h"

#include "tensor/memory_limit.h"

#include <algorithm>
#include <bit>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ONNX_FP16_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ONNX_FP16_ASAN 1
#endif
#endif
#ifdef ONNX_FP16_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace onnx_fp16::buffers {

namespace {

// 64 bytes: a cache line, and enough for any vector load the kernels may use.
constexpr std::size_t kAlignment = 64;

// Large buffers are placed on 2 MB boundaries and asked for transparent huge pages: a model's
// first run touches all its intermediates and weights fresh, and 256 MB took 780 ms to fault in
// as 4 KB pages here against 23 ms as 2 MB pages once the kernel had huge pages free (473 ms
// when it first had to assemble them). Below 4 MB the rounding to whole huge pages would cost
// memory for little gain.
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kHugeFromBytes = std::size_t{4} << 20;

// The size actually allocated for a request: pooled sizes round up to a quarter of their power
// of two, so that requests of nearly the same size share buffers.
std::size_t size_class(std::size_t bytes) {
  if (bytes < kPooledFromBytes) return bytes;
  const std::size_t step = std::bit_floor(bytes) / 4;
  return (bytes + step - 1) / step * step;
}

std::size_t alignment_for(std::size_t allocated) { return allocated >= kHugeFromBytes ? kHugePage : kAlignment; }

void* system_allocate(std::size_t allocated) {
  const std::size_t alignment = alignment_for(allocated);
  void* bytes = ::operator new(allocated, std::align_val_t{alignment});
  // Advice only: where the kernel has no huge pages (or THP is off) nothing changes.
  if (alignment == kHugePage) ::madvise(bytes, allocated / kHugePage * kHugePage, MADV_HUGEPAGE);
  return bytes;
}

void system_free(void* bytes, std::size_t allocated) noexcept {
  ::operator delete(bytes, std::align_val_t{alignment_for(allocated)});
}

// What the cache may hold: kCacheCapBytes, or a sixteenth of the machine's memory if less.
std::size_t cap_bytes() {
  static const std::size_t cap = std::min(kCacheCapBytes, physical_memory_bytes() / 16);
  return cap;
}

class Cache {
 public:
  void* take(std::size_t allocated) {
    std::lock_guard lock(mutex_);
    auto it = free_.find(allocated);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* bytes = it->second.back();
    it->second.pop_back();
    cached_ -= allocated;
#ifdef ONNX_FP16_ASAN
    ASAN_UNPOISON_MEMORY_REGION(bytes, allocated);
#endif
    return bytes;
  }

  // False when the cache is full: the caller frees the buffer.
  bool keep(void* bytes, std::size_t allocated) noexcept {
    std::lock_guard lock(mutex_);
    if (cached_ + allocated > cap_bytes()) return false;
    try {
      free_[allocated].push_back(bytes);
    } catch (...) {
      return false;  // no memory for the bookkeeping: free it instead
    }
    cached_ += allocated;
#ifdef ONNX_FP16_ASAN
    ASAN_POISON_MEMORY_REGION(bytes, allocated);
#endif
    return true;
  }

  std::size_t cached() {
    std::lock_guard lock(mutex_);
    return cached_;
  }

  void clear() {
    std::lock_guard lock(mutex_);
    for (auto& [allocated, list] : free_) {
      for (void* bytes : list) {
#ifdef ONNX_FP16_ASAN
        ASAN_UNPOISON_MEMORY_REGION(bytes, allocated);
#endif
        system_free(bytes, allocated);
      }
    }
    free_.clear();
    cached_ = 0;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::size_t, std::vector<void*>> free_;  // by allocated size
  std::size_t cached_ = 0;
};

// Never destroyed: tensors in static storage may be released after static destructors run.
Cache& cache() {
  static Cache* const instance = new Cache;
  return *instance;
}

}  // namespace

void* acquire(std::size_t bytes) {
  const std::size_t allocated = size_class(bytes);
  if (allocated >= kPooledFromBytes) {
    if (void* reused = cache().take(allocated)) return reused;
  }
  return system_allocate(allocated);
}

void release(void* buffer, std::size_t bytes) noexcept {
  if (buffer == nullptr) return;
  const std::size_t allocated = size_class(bytes);
  if (allocated >= kPooledFromBytes && cache().keep(buffer, allocated)) return;
  system_free(buffer, allocated);
}

std::size_t cached_bytes() { return cache().cached(); }

void clear_cache() { cache().clear(); }

}  // namespace onnx_fp16::buffers
