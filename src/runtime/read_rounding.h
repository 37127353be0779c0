// A float32 input read as a converted model holds it: rounded to float16 or bfloat16 (and, for
// a constant the conversion clamps, clamped first), then widened back to float32, exactly.
//
// Why kernels read it instead of being given a rounded copy: the mixed-precision search
// simulates converted models on the float32 graph (mixed/incremental_engine.h), and a converted
// weight is the float32 weight rounded. Kept as rounded copies, BERT-base's weights were a second
// 436 MB the search held and faulted in (on these machines ~1.2 ms per MB of fresh memory). A
// matrix product rounds its weights while packing them (they pass through its packing buffer
// anyway), a Gather the rows it copies; every other kernel gets a rounded copy made for the
// run (run_compiled_node, graph_plan.h), which for small tensors is cheap.
#pragma once

#include <cstdint>
#include <span>

#include "half/half.h"

namespace onnx_fp16 {
class Tensor;
}

// No tensor header here: the AVX-512 product (compiled apart, without the precompiled header)
// includes this one.
namespace onnx_fp16::runtime {

struct ReadRounding {
  enum class Target : std::uint8_t { None, Float16, BFloat16 };
  Target target = Target::None;
  // float16 only: half::clamp_constant with this rule before rounding (the conversion's clamping
  // of constants). bfloat16 has float32's range and is never clamped.
  bool clamp = false;
  half::ClampRule rule{};

  bool rounds() const { return target != Target::None; }
};

// in's values in the target type's bits, rounded as `rounding` says (which must round): the one
// home of the rule, which everything below and the search's own rounding go through.
void round_to_bits(std::span<const float> in, std::span<std::uint16_t> out, const ReadRounding& rounding);

// out[i] = in[i] as read under `rounding` (in and out may be the same span; sizes equal), on up
// to `threads` threads: what kernels that read rounded inputs themselves, and rounded copies, call.
void round_for_reading(std::span<const float> in, std::span<float> out, const ReadRounding& rounding, int threads = 1);

// A float32 tensor's values as read under `rounding`, in a new tensor, rounded on up to `threads`
// threads; any other tensor, or no rounding: the tensor itself.
Tensor rounded_for_reading(const Tensor& tensor, const ReadRounding& rounding, int threads);

}  // namespace onnx_fp16::runtime
