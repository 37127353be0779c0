// The memory limit of tensor allocation: what keeps a hostile or broken model (a ConstantOfShape
// of 10^12 elements) from ending in an out-of-memory kill. The evaluator sets it for a run
// (EvaluatorOptions::memory_limit); exceeding it is an onnx_fp16::Error naming the size and the
// limit (the executor adds the node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace onnx_fp16 {

// The machine's physical memory in bytes (the default memory limit).
std::size_t physical_memory_bytes();

// "40.0 GB", "512.0 MB", "12 bytes": sizes in messages.
std::string byte_text(std::size_t bytes);

// The most bytes one tensor allocated on this thread may take: physical_memory_bytes() unless a
// MemoryLimitScope on this thread says otherwise. Tensor allocation checks it before asking the
// system for the memory (a request beyond it would be refused, or granted and then killed).
std::size_t tensor_memory_limit();

// Sets tensor_memory_limit() on this thread for its lifetime (an evaluator run); 0: physical memory.
class MemoryLimitScope {
 public:
  explicit MemoryLimitScope(std::size_t bytes);
  ~MemoryLimitScope();
  MemoryLimitScope(const MemoryLimitScope&) = delete;
  MemoryLimitScope& operator=(const MemoryLimitScope&) = delete;

 private:
  std::size_t previous_;
};

}  // namespace onnx_fp16
