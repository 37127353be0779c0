// Where tensor storage and kernel scratch buffers come from: large buffers are kept for reuse
// when freed instead of going back to the system.
//
// Why: glibc serves large allocations with mmap and returns them with munmap, so every run of a
// model faulted its intermediates in again, page by page, and on the virtual machines this runs
// on a 4 KB fault is slow (about 1.2 ms per MB). Measured on ResNet-50, 2 threads: 3,200 page
// faults per warm run, 125 ms; with the same buffers reused, none, 88 ms. A run of the same model
// asks for the same sizes again, so the buffers one run frees are the ones the next one needs.
//
// Contract:
// - acquire(n) returns n bytes, 64-byte aligned; 2 MB aligned and advised to use transparent
//   huge pages from 4 MB. The contents are unspecified (a reused buffer holds old data).
// - release(p, n) takes back what acquire(n) returned, with the same n.
// - Buffers of kPooledFromBytes or more are kept, in size classes (four per power of two, so a
//   kept buffer is at most 25% larger than asked), up to kCacheCapBytes in all (a sixteenth of
//   the machine's memory if that is less); beyond it they go
//   back to the system. Smaller ones go straight to operator new/delete, which reuses them well.
// - Thread-safe. The cache is process-wide: buffers freed by one evaluator serve the next.
// - Under AddressSanitizer a kept buffer is poisoned until it is handed out again, so a use
//   after release is still reported.
#pragma once

#include <cstddef>
#include <utility>

namespace onnx_fp16::buffers {

inline constexpr std::size_t kPooledFromBytes = std::size_t{256} << 10;
inline constexpr std::size_t kCacheCapBytes = std::size_t{1} << 30;

void* acquire(std::size_t bytes);
void release(void* buffer, std::size_t bytes) noexcept;

// Bytes held for reuse now (not handed out).
std::size_t cached_bytes();
// Returns every kept buffer to the system.
void clear_cache();

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
