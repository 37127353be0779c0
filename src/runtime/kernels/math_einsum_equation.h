// Einsum's equation ("ij,jk->ik", "...ii->...i", "bij,bjk"), parsed into one label per
// dimension of each operand and of the result.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace onnx_fp16::runtime::math {

// A label is a letter's character code, or kEllipsisLabel + i for the i-th dimension that "..."
// stands for, counted from the left of the longest "..." block (blocks are right-aligned, as
// numpy broadcasts them).
inline constexpr int kEllipsisLabel = 1000;

struct EinsumEquation {
  std::vector<std::vector<int>> inputs;  // per operand, one label per dimension
  std::vector<int> output;               // one label per dimension of the result
};

// Parses `equation` for operands of the given ranks. Without "->" the result has the "..."
// dimensions, then the letters used exactly once, in character order (numpy's implicit mode).
// Throws onnx_fp16::Error for a malformed equation or one that does not match the ranks.
EinsumEquation parse_einsum(std::string_view equation, std::span<const std::size_t> ranks);

}  // namespace onnx_fp16::runtime::math
