#include "tensor/buffer_pool.h"

#include "tensor/memory_limit.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <mutex>
#include <new>
#include <set>
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
  if (alignment == kHugePage) advise_huge_pages(bytes, allocated);
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

// A huge-page region medium buffers are carved from. Its memory is handed out from free blocks
// (coalesced when neighbours are freed) before any is carved fresh from the front: a first run
// asks for many sizes once, and memory an earlier node freed, split or merged to the size asked
// for, spares faulting in fresh pages (the first run's fresh memory on torchvision's ResNet-50:
// 21.4 MB when a freed buffer served only its own size class or one up to half its size).
struct Region {
  std::byte* base = nullptr;
  std::size_t carved = 0;  // bytes below this offset have been handed out at least once
  std::size_t in_use = 0;  // its buffers handed out and not released
  std::map<std::uintptr_t, std::size_t> free;  // free blocks below `carved`: address -> bytes, coalesced
};

class Cache {
 public:
  void* take(std::size_t allocated) {
    std::lock_guard lock(mutex_);
    if (kUseRegions && allocated < kRegionBlockLimit) return take_from_regions(carved_bytes(allocated));
    void* bytes = nullptr;
    // Its own size class first, else the smallest kept buffer up to twice as large.
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
    }
    return bytes;
  }

  // False when the buffer should go back to the system (the cache is full, and it was
  // allocated alone). `allocated` is the size class asked for; a borrowed buffer's own size
  // replaces it (the caller frees that many bytes).
  bool keep(void* bytes, std::size_t& allocated) noexcept {
    std::lock_guard lock(mutex_);
    if (Region* region = region_of(bytes)) {
      add_free_block(*region, reinterpret_cast<std::uintptr_t>(bytes), carved_bytes(allocated));
      --region->in_use;
      if (cached_ > cap_bytes()) trim();
      return true;
    }
    if (auto it = borrowed_.find(bytes); it != borrowed_.end()) {
      allocated = it->second;
      borrowed_.erase(it);
    }
    // A medium buffer allocated alone (no region could be had then) is not kept: requests of its
    // size look in the regions only.
    if (kUseRegions && allocated < kRegionBlockLimit) return false;
    if (cached_ + allocated > cap_bytes()) return false;
    try {
      free_[allocated].push_back(bytes);
    } catch (...) {
      return false;  // the caller frees it
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

  std::size_t clear() {
    std::lock_guard lock(mutex_);
    const std::size_t before = cached_;
    for (auto& [allocated, list] : free_) {
      for (void* bytes : list) {
#ifdef ONNX_FP16_ASAN
        ASAN_UNPOISON_MEMORY_REGION(bytes, allocated);
#endif
        system_free(bytes, allocated);
        cached_ -= allocated;
      }
      list.clear();
    }
    trim();
    // Free blocks in regions still partly in use: their pages go back, and they leave the cache
    // (the region goes back once none of its buffers is in use).
    for (auto& [base, region] : regions_) {
      for (const auto& [address, size] : region.free) {
        ::madvise(reinterpret_cast<void*>(address), size, MADV_DONTNEED);
        free_by_size_.erase({size, address});
        cached_ -= size;
      }
      region.free.clear();
    }
    return before - cached_;
  }

 private:
  // The region holding `bytes`, if any.
  Region* region_of(const void* bytes) {
    if (regions_.empty()) return nullptr;
    const auto address = reinterpret_cast<std::uintptr_t>(bytes);
    auto it = regions_.upper_bound(address);
    if (it == regions_.begin()) return nullptr;
    --it;
    return address < it->first + kRegionBytes ? &it->second : nullptr;
  }

  // What a buffer of `allocated` bytes takes from a region: whole 4 KB pages, so every buffer has
  // its own pages (and is 64-byte aligned).
  static std::size_t carved_bytes(std::size_t allocated) { return (allocated + 4095) / 4096 * 4096; }

  // `size` bytes (whole pages) from a region: the smallest free block that holds them (its rest
  // stays free), else the current region's front, taking in the free block just below it, else
  // a new region. nullptr when no region can be had (the caller allocates alone).
  void* take_from_regions(std::size_t size) {
    if (auto it = free_by_size_.lower_bound({size, 0}); it != free_by_size_.end()) {
      const auto [block, address] = *it;
      Region& region = *region_of(reinterpret_cast<void*>(address));
      remove_free_block(region, address, block);
      if (block > size) add_free_block(region, address + size, block - size);
      ++region.in_use;
      return reinterpret_cast<void*>(address);
    }
    if (current_ != nullptr) {
      const auto front = reinterpret_cast<std::uintptr_t>(current_->base) + current_->carved;
      std::uintptr_t start = front;
      if (!current_->free.empty()) {
        const auto& [address, block] = *current_->free.rbegin();
        if (address + block == front) start = address;  // the free block ending at the front
      }
      if (start - reinterpret_cast<std::uintptr_t>(current_->base) + size <= kRegionBytes) {
        if (start != front) remove_free_block(*current_, start, front - start);
        current_->carved = start - reinterpret_cast<std::uintptr_t>(current_->base) + size;
        ++current_->in_use;
        return reinterpret_cast<void*>(start);
      }
    }
    void* base = nullptr;
    try {
      base = ::operator new(kRegionBytes, std::align_val_t{kHugePage});
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
    advise_huge_pages(base, kRegionBytes);
    auto [it, inserted] = regions_.emplace(reinterpret_cast<std::uintptr_t>(base), Region{});
    current_ = &it->second;
    current_->base = static_cast<std::byte*>(base);
    current_->carved = size;
    current_->in_use = 1;
    return base;
  }

  void add_free_block(Region& region, std::uintptr_t address, std::size_t size) {
    cached_ += size;
    auto next = region.free.lower_bound(address);
    if (next != region.free.end() && address + size == next->first) {  // merge the block after it
      const std::size_t next_size = next->second;
      remove_free_block(region, next->first, next_size);
      cached_ += next_size;
      size += next_size;
      next = region.free.lower_bound(address);
    }
    if (next != region.free.begin()) {
      const auto previous = std::prev(next);
      if (previous->first + previous->second == address) {  // merge into the block before it
        const std::uintptr_t previous_address = previous->first;
        const std::size_t previous_size = previous->second;
        remove_free_block(region, previous_address, previous_size);
        cached_ += previous_size;
        address = previous_address;
        size += previous_size;
      }
    }
    region.free.emplace(address, size);
    free_by_size_.emplace(size, address);
  }

  void remove_free_block(Region& region, std::uintptr_t address, std::size_t size) {
    region.free.erase(address);
    free_by_size_.erase({size, address});
    cached_ -= size;
  }

  // Returns the regions none of whose buffers is in use, with their free blocks.
  void trim() {
    for (auto it = regions_.begin(); it != regions_.end();) {
      Region& region = it->second;
      if (region.in_use != 0) {
        ++it;
        continue;
      }
      for (const auto& [address, size] : region.free) {
        free_by_size_.erase({size, address});
        cached_ -= size;
      }
      if (current_ == &region) current_ = nullptr;
      ::operator delete(region.base, std::align_val_t{kHugePage});
      it = regions_.erase(it);
    }
  }

  std::mutex mutex_;
  // Buffers allocated alone (and every buffer under ASan), kept by size class for reuse.
  std::map<std::size_t, std::vector<void*>> free_;
  std::unordered_map<void*, std::size_t> borrowed_;  // in use for a smaller class: its own size
  std::map<std::uintptr_t, Region> regions_;         // by base address
  std::set<std::pair<std::size_t, std::uintptr_t>> free_by_size_;  // every region's free blocks, for best fit
  Region* current_ = nullptr;                        // the region whose front is carved
  std::size_t cached_ = 0;                           // bytes kept: free blocks and buffers kept alone
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

void advise_huge_pages(void* bytes, std::size_t size) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(bytes);
  const std::uintptr_t first = (begin + kHugePage - 1) / kHugePage * kHugePage;
  const std::uintptr_t end = (begin + size) / kHugePage * kHugePage;
  if (end > first) ::madvise(reinterpret_cast<void*>(first), end - first, MADV_HUGEPAGE);
}

bool carves_from_regions() { return kUseRegions; }

std::size_t clear_cache() { return cache().clear(); }

}  // namespace onnx_fp16::buffers
