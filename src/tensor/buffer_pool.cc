#include "tensor/buffer_pool.h"

#include "tensor/memory_limit.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
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

#ifdef ONNX_FP16_ASAN
constexpr bool kUseRegions = false;  // ASan checks bounds only of blocks it allocated itself
#else
constexpr bool kUseRegions = true;
#endif

// A huge-page region medium buffers are carved from, front to back. Its buffers are never
// returned one by one: the region goes back to the system when none of them is in use.
struct Region {
  std::byte* base = nullptr;
  std::size_t carved = 0;  // bytes handed out from the front so far
  std::size_t in_use = 0;  // its buffers handed out and not released
};

class Cache {
 public:
  void* take(std::size_t allocated) {
    std::lock_guard lock(mutex_);
    void* bytes = nullptr;
    // Its own size class first, else the smallest kept buffer up to twice as large: a first run
    // asks for many sizes once, and a larger buffer freed earlier in the run spares faulting in
    // fresh memory (PP-OCRv4 det: 75 MB of fresh buffers -> 57 MB; 33 MB are in use at most).
    auto it = free_.lower_bound(allocated);
    while (it != free_.end() && it->first <= 2 * allocated && it->second.empty()) ++it;
    if (it != free_.end() && it->first <= 2 * allocated) {
      const std::size_t size = it->first;
      bytes = it->second.back();
      it->second.pop_back();
      cached_ -= size;
      if (size != allocated) borrowed_[bytes] = size;
#ifdef ONNX_FP16_ASAN
      ASAN_UNPOISON_MEMORY_REGION(bytes, allocated);  // the rest of a larger buffer stays poisoned
#endif
    } else if (kUseRegions && allocated < kRegionBlockLimit) {
      bytes = carve(allocated);
    }
    if (bytes != nullptr) {
      if (Region* region = region_of(bytes)) ++region->in_use;
    }
    return bytes;
  }

  // False when the buffer should go back to the system (the cache is full, and it was
  // allocated alone). `allocated` is the size class asked for; a borrowed buffer's own size
  // replaces it (the caller frees that many bytes).
  bool keep(void* bytes, std::size_t& allocated) noexcept {
    std::lock_guard lock(mutex_);
    if (auto it = borrowed_.find(bytes); it != borrowed_.end()) {
      allocated = it->second;
      borrowed_.erase(it);
    }
    Region* region = region_of(bytes);
    if (region == nullptr && cached_ + allocated > cap_bytes()) return false;
    try {
      free_[allocated].push_back(bytes);
    } catch (...) {
      if (region == nullptr) return false;  // the caller frees it
      --region->in_use;  // lost in its region until the region goes back
      return true;
    }
    cached_ += allocated;
#ifdef ONNX_FP16_ASAN
    ASAN_POISON_MEMORY_REGION(bytes, allocated);
#endif
    if (region != nullptr) {
      --region->in_use;
      if (cached_ > cap_bytes()) trim();
    }
    return true;
  }

  std::size_t cached() {
    std::lock_guard lock(mutex_);
    return cached_;
  }

  std::size_t clear() {
    std::lock_guard lock(mutex_);
    const std::size_t before = cached_;
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      auto& list = it->second;
      std::erase_if(list, [&](void* bytes) {
        if (region_of(bytes) != nullptr) return false;
        unpoison(bytes, it->first);
        system_free(bytes, it->first);
        cached_ -= it->first;
        return true;
      });
    }
    trim();
    // Kept buffers in regions still partly in use: their pages go back (the region stays mapped;
    // they are dropped from the cache, as a region keeps no list of its free space).
    // Not a structured binding: clang 14 (scripts/fuzz.sh) cannot capture one in a lambda.
    for (auto& entry : free_) {
      const std::size_t allocated = entry.first;
      std::erase_if(entry.second, [&](void* bytes) {
        if (region_of(bytes) == nullptr) return false;
        unpoison(bytes, allocated);
        ::madvise(bytes, carved_bytes(allocated), MADV_DONTNEED);
        cached_ -= allocated;
        return true;
      });
    }
    return before - cached_;
  }

 private:
  static void unpoison([[maybe_unused]] void* bytes, [[maybe_unused]] std::size_t allocated) {
#ifdef ONNX_FP16_ASAN
    ASAN_UNPOISON_MEMORY_REGION(bytes, allocated);
#endif
  }

  // The region holding `bytes`, if any.
  Region* region_of(const void* bytes) {
    if (regions_.empty()) return nullptr;
    const auto address = reinterpret_cast<std::uintptr_t>(bytes);
    auto it = regions_.upper_bound(address);
    if (it == regions_.begin()) return nullptr;
    --it;
    return address < it->first + kRegionBytes ? &it->second : nullptr;
  }

  // What carving `allocated` bytes takes from a region: whole 4 KB pages, so every buffer has
  // its own pages (and is 64-byte aligned).
  static std::size_t carved_bytes(std::size_t allocated) { return (allocated + 4095) / 4096 * 4096; }

  void* carve(std::size_t allocated) {
    const std::size_t step = carved_bytes(allocated);
    if (current_ == nullptr || current_->carved + step > kRegionBytes) {
      void* base = nullptr;
      try {
        base = ::operator new(kRegionBytes, std::align_val_t{kHugePage});
      } catch (const std::bad_alloc&) {
        return nullptr;  // the caller asks the system for the buffer alone
      }
      ::madvise(base, kRegionBytes, MADV_HUGEPAGE);
      auto [it, inserted] = regions_.emplace(reinterpret_cast<std::uintptr_t>(base), Region{});
      it->second.base = static_cast<std::byte*>(base);
      current_ = &it->second;
    }
    void* bytes = current_->base + current_->carved;
    current_->carved += step;
    return bytes;
  }

  // Returns the regions none of whose buffers is in use, with their kept buffers.
  void trim() {
    std::vector<std::uintptr_t> idle;
    for (const auto& [base, region] : regions_) {
      if (region.in_use == 0) idle.push_back(base);
    }
    if (idle.empty()) return;
    auto in_idle = [&](const void* bytes) {
      const auto address = reinterpret_cast<std::uintptr_t>(bytes);
      auto it = std::upper_bound(idle.begin(), idle.end(), address);
      return it != idle.begin() && address < *(it - 1) + kRegionBytes;
    };
    for (auto& entry : free_) {
      const std::size_t allocated = entry.first;  // (as in clear(): clang 14 and lambdas)
      std::erase_if(entry.second, [&](void* bytes) {
        if (!in_idle(bytes)) return false;
        unpoison(bytes, allocated);
        cached_ -= allocated;
        return true;
      });
    }
    for (const std::uintptr_t base : idle) {
      if (current_ != nullptr && reinterpret_cast<std::uintptr_t>(current_->base) == base) current_ = nullptr;
      ::operator delete(reinterpret_cast<void*>(base), std::align_val_t{kHugePage});
      regions_.erase(base);
    }
  }

  std::mutex mutex_;
  std::map<std::size_t, std::vector<void*>> free_;            // by allocated size, ordered for best fit
  std::unordered_map<void*, std::size_t> borrowed_;          // in use for a smaller class: its own size
  std::map<std::uintptr_t, Region> regions_;                  // by base address
  Region* current_ = nullptr;                                  // the region being carved
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
  std::size_t allocated = size_class(bytes);
  if (allocated >= kPooledFromBytes && cache().keep(buffer, allocated)) return;
  system_free(buffer, allocated);
}

std::size_t cached_bytes() { return cache().cached(); }

bool carves_from_regions() { return kUseRegions; }

std::size_t clear_cache() { return cache().clear(); }

}  // namespace onnx_fp16::buffers
