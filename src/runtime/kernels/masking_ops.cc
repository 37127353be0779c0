// Ops that keep the input's shape and move or blank some of its elements by position: Trilu
// (zero one side of a diagonal of the last two axes) and ReverseSequence (reverse the first
// sequence_lens[b] steps of each batch entry).
#include <algorithm>
#include <string>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

// Trilu: upper=1 keeps elements with column - row >= k, upper=0 those with column - row <= k;
// the others become zero (false, "" for bool and string). k is an optional scalar input.
void trilu_kernel(KernelContext& ctx) {
  const Tensor& input = ctx.input(0);
  if (input.rank() < 2) ctx.fail("needs rank 2 or more, got " + shape_to_string(input.shape()));
  const std::int64_t k = ctx.has_input(1) ? scalar_to_int64(ctx.input(1)) : 0;
  const bool upper = ctx.attr_int("upper", 1) != 0;
  const std::int64_t rows = input.shape()[input.rank() - 2];
  const std::int64_t columns = input.shape()[input.rank() - 1];
  Tensor output = input;  // shares the buffer until written
  if (input.size() == 0) return ctx.set_output(0, std::move(output));
  dispatch<AllTypes>(input.dtype(), [&]<typename T>(std::type_identity<T>) {
    auto out = output.mutable_data<T>();
    const auto matrix = static_cast<std::size_t>(rows * columns);
    for (std::size_t base = 0; base < out.size(); base += matrix) {
      for (std::int64_t row = 0; row < rows; ++row) {
        // Columns [0, first) or [first, columns) are blanked, first = row + k (+1 for lower).
        const std::int64_t first = std::clamp<std::int64_t>(row + k + (upper ? 0 : 1), 0, columns);
        T* line = out.data() + base + static_cast<std::size_t>(row * columns);
        if (upper) {
          std::fill(line, line + first, T{});
        } else {
          std::fill(line + first, line + columns, T{});
        }
      }
    }
  });
  ctx.set_output(0, std::move(output));
}

// ReverseSequence: along time_axis (0 or 1), the first sequence_lens[b] elements of batch entry
// b (batch_axis, the other of 0 and 1) are reversed; the rest are copied.
void reverse_sequence_kernel(KernelContext& ctx) {
  const Tensor& input = ctx.input(0);
  const auto lengths = to_int64_vector(ctx.input(1));
  const std::int64_t batch_axis = ctx.attr_int("batch_axis", 1);
  const std::int64_t time_axis = ctx.attr_int("time_axis", 0);
  if (input.rank() < 2) ctx.fail("needs rank 2 or more, got " + shape_to_string(input.shape()));
  if (batch_axis == time_axis || batch_axis < 0 || batch_axis > 1 || time_axis < 0 || time_axis > 1) {
    ctx.fail("batch_axis and time_axis must be 0 and 1, one each");
  }
  const Shape& shape = input.shape();
  const auto b_axis = static_cast<std::size_t>(batch_axis);
  const auto t_axis = static_cast<std::size_t>(time_axis);
  if (static_cast<std::int64_t>(lengths.size()) != shape[b_axis]) {
    ctx.fail("sequence_lens has " + std::to_string(lengths.size()) + " entries for a batch of " +
             std::to_string(shape[b_axis]));
  }
  for (const std::int64_t length : lengths) {
    if (length < 0 || length > shape[t_axis]) {
      ctx.fail("sequence length " + std::to_string(length) + " is outside [0, " + std::to_string(shape[t_axis]) + "]");
    }
  }
  const auto strides = row_major_strides(shape);
  std::vector<std::int64_t> sources(input.size());
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto flat = static_cast<std::int64_t>(i);
    const std::int64_t t = flat / strides[t_axis] % shape[t_axis];
    const std::int64_t length = lengths[static_cast<std::size_t>(flat / strides[b_axis] % shape[b_axis])];
    sources[i] = t < length ? flat + (length - 1 - 2 * t) * strides[t_axis] : flat;
  }
  ctx.set_output(0, take_blocks(input, shape, sources));
}

}  // namespace

void register_masking_ops_kernels(KernelRegistry& r) {
  r.add("Trilu", 14, trilu_kernel);
  r.add("ReverseSequence", 10, reverse_sequence_kernel);
}

}  // namespace onnx_fp16::runtime
