// Where tensor storage and kernel scratch buffers come from: large buffers are kept for reuse
// when freed instead of going back to the system, and medium ones live in huge pages.
//
// Why: on the virtual machines this runs on, a fault of a fresh 4 KB page is slow (64 MB took
// 236 ms to touch in 4 KB pages, 6-70 ms in 2 MB pages). Two things made runs pay it:
// - glibc serves large allocations with mmap and returns them with munmap, so every run of a
//   model faulted its intermediates in again. ResNet-50, 2 threads: 3,200 faults and 125 ms per
//   warm run; with the buffers reused, none and 76-88 ms. A run of the same model asks for the
//   same sizes again, so the buffers one run frees are the ones the next one needs.
// - Intermediates of a few hundred KB to a few MB (most of a CNN's or a transformer's) sit in
//   4 KB pages wherever they come from. Carved from 2 MB-aligned regions advised to use
//   transparent huge pages, a first run faults one page per 2 MB instead of one per 4 KB.
//
// Contract:
// - acquire(n) returns n bytes, 64-byte aligned. The contents are unspecified (a reused buffer
//   holds old data).
// - release(p, n) takes back what acquire(n) returned, with the same n.
// - Below kPooledFromBytes: operator new/delete, which reuses small blocks well.
// - From kPooledFromBytes: size classes (four per power of two, so a buffer is at most 25%
//   larger than asked). Below kRegionBlockLimit they come from huge-page regions of
//   kRegionBytes, in whole 4 KB pages: from the smallest free block that holds them (freed
//   buffers are free blocks, merged with free neighbours; the rest of a block stays free), else
//   fresh from the current region's front (with the free block just below it), else from a new
//   region. Above it they are allocated alone, 2 MB aligned and advised to use huge pages, and
//   kept when freed by size class for the next request of that class, or, when it has none, of
//   a class down to half their size. When more than the cap (kCacheCapBytes, or a sixteenth of
//   the machine's memory if less) is kept, buffers allocated alone go back to the system and so
//   do regions none of whose buffers is in use.
// - Thread-safe. The cache is process-wide: buffers freed by one evaluator serve the next.
// - Under AddressSanitizer there are no regions (every buffer is its own allocation, so ASan
//   checks its bounds) and a kept buffer is poisoned until it is handed out again, so a use
//   after release is still reported.
#pragma once

#include <cstddef>
#include <utility>

namespace onnx_fp16::buffers {

inline constexpr std::size_t kPooledFromBytes = std::size_t{32} << 10;
inline constexpr std::size_t kCacheCapBytes = std::size_t{1} << 30;
inline constexpr std::size_t kRegionBytes = std::size_t{32} << 20;
inline constexpr std::size_t kRegionBlockLimit = std::size_t{8} << 20;

void* acquire(std::size_t bytes);
void release(void* buffer, std::size_t bytes) noexcept;

// Bytes held for reuse now (not handed out).
std::size_t cached_bytes();
// Whether medium buffers come from huge-page regions (not under ASan).
bool carves_from_regions();
// Returns what is kept to the system: every buffer allocated alone, every region none of whose
// buffers is in use, and the pages of free blocks in the other regions (those blocks leave
// the cache). Returns the bytes of the buffers given back.
std::size_t clear_cache();

// Asks for transparent huge pages on the whole 2 MB pages inside [bytes, bytes + size): for
// large memory from outside the pool that is about to be written whole (the pool's own large
// buffers and regions get the same advice). Advice only: where the kernel has no huge pages
// (or THP is off) nothing changes.
void advise_huge_pages(void* bytes, std::size_t size) noexcept;

// A scratch array of T from the pool, released when it goes out of scope; uninitialised.
template <typename T>
class Scratch {
 public:
  Scratch() = default;
  explicit Scratch(std::size_t count)
      : count_(count), data_(count == 0 ? nullptr : static_cast<T*>(acquire(count * sizeof(T)))) {}
  ~Scratch() {
    if (data_ != nullptr) release(data_, count_ * sizeof(T));
  }
  Scratch(Scratch&& other) noexcept : count_(other.count_), data_(std::exchange(other.data_, nullptr)) {}
  Scratch& operator=(Scratch&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) release(data_, count_ * sizeof(T));
      count_ = other.count_;
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }

  T* get() const { return data_; }

 private:
  std::size_t count_ = 0;
  T* data_ = nullptr;
};

}  // namespace onnx_fp16::buffers
