#include "runtime/read_rounding.h"

#include <algorithm>
#include <cstddef>

#include "runtime/parallel.h"
#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

void round_to_bits(std::span<const float> in, std::span<std::uint16_t> out, const ReadRounding& rounding) {
  if (rounding.target == ReadRounding::Target::BFloat16) {
    half::floats_to_bfloat16s(in, out);
  } else if (rounding.clamp) {
    half::floats_to_halves_clamped(in, out, rounding.rule);
  } else {
    half::floats_to_halves(in, out);
  }
}

namespace {

// On the calling thread, chunk by chunk through the target type's bits: each chunk is read whole
// before it is written, so `out` may be `in`.
void round_on_this_thread(std::span<const float> in, std::span<float> out, const ReadRounding& rounding) {
  constexpr std::size_t kChunk = 1024;
  std::uint16_t bits[kChunk];
  for (std::size_t begin = 0; begin < in.size(); begin += kChunk) {
    const std::size_t count = std::min(kChunk, in.size() - begin);
    const auto values = in.subspan(begin, count);
    const std::span<std::uint16_t> chunk(bits, count);
    const auto result = out.subspan(begin, count);
    if (!rounding.rounds()) {
      std::copy(values.begin(), values.end(), result.begin());
      continue;
    }
    round_to_bits(values, chunk, rounding);
    if (rounding.target == ReadRounding::Target::BFloat16) {
      half::bfloat16s_to_floats(chunk, result);
    } else {
      half::halves_to_floats(chunk, result);
    }
  }
}

}  // namespace

void round_for_reading(std::span<const float> in, std::span<float> out, const ReadRounding& rounding, int threads) {
  constexpr std::size_t kPiece = std::size_t{1} << 16;  // elements a thread takes at a time
  if (threads <= 1 || in.size() <= kPiece) {
    round_on_this_thread(in, out, rounding);
    return;
  }
  parallel_for(threads, (in.size() + kPiece - 1) / kPiece, 1, [&](std::size_t first, std::size_t last) {
    const std::size_t begin = first * kPiece;
    const std::size_t end = std::min(in.size(), last * kPiece);
    round_on_this_thread(in.subspan(begin, end - begin), out.subspan(begin, end - begin), rounding);
  });
}

Tensor rounded_for_reading(const Tensor& tensor, const ReadRounding& rounding, int threads) {
  if (!rounding.rounds() || !tensor.defined() || tensor.dtype() != onnx::TensorProto::FLOAT) return tensor;
  Tensor out = Tensor::uninitialized(onnx::TensorProto::FLOAT, tensor.shape());
  round_for_reading(tensor.data<float>(), out.mutable_data<float>(), rounding, threads);
  return out;
}

}  // namespace onnx_fp16::runtime
