// Pad: grows (or, with negative pads, crops) each axis. Along an axis, output index k reads
// input index k - begin, which the mode brings back into the input when it falls outside:
// constant (a fill value), edge (the nearest end), reflect (mirrored about the end elements,
// numpy's "reflect", repeating for pads longer than the axis). Axes are independent, so the
// whole op is one offset-table copy.
//
// Parameters by opset: `paddings` (1) or `pads` (2..10) attributes with a float `value`;
// from 11 a `pads` input and an optional `constant_value` input of the data's type.
#include <string>
#include <vector>

#include "runtime/float_compute.h"
#include "runtime/index_copy.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

enum class PadMode { kConstant, kEdge, kReflect };

PadMode pad_mode(const KernelContext& ctx) {
  const std::string mode = ctx.attr_string("mode", "constant");
  if (mode == "constant") return PadMode::kConstant;
  if (mode == "edge") return PadMode::kEdge;
  if (mode == "reflect") return PadMode::kReflect;
  ctx.fail("unsupported mode '" + mode + "'");
}

// The input index that output index k of an axis reads (kFillOffset: the fill value).
std::int64_t source_index(std::int64_t k, std::int64_t begin, std::int64_t extent, PadMode mode) {
  std::int64_t i = k - begin;
  if (i >= 0 && i < extent) return i;
  switch (mode) {
    case PadMode::kConstant: return kFillOffset;
    case PadMode::kEdge: return i < 0 ? 0 : extent - 1;
    case PadMode::kReflect: {
      if (extent == 1) return 0;
      const std::int64_t period = 2 * (extent - 1);
      i %= period;
      if (i < 0) i += period;
      return i < extent ? i : period - i;
    }
  }
  return kFillOffset;
}

// The fill value of constant mode, or nullptr for zero.
Tensor constant_value(const KernelContext& ctx, const Tensor& data) {
  if (ctx.opset() < 11) {
    const float value = ctx.attr_float("value", 0.0f);
    if (!is_float_type(data.dtype())) ctx.fail("before opset 11 Pad takes float types only");
    return make_float_tensor(data.dtype(), {}, std::span<const float>(&value, 1));
  }
  const Tensor* value = ctx.optional_input(2);
  if (value == nullptr) return Tensor();
  if (value->dtype() != data.dtype() || value->size() != 1) {
    ctx.fail("constant_value must be one " + data_type_name(data.dtype()) + " value, got " +
             data_type_name(value->dtype()) + " " + shape_to_string(value->shape()));
  }
  return *value;
}

void pad_kernel(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const std::size_t rank = data.rank();
  const PadMode mode = pad_mode(ctx);
  std::vector<std::int64_t> pads;
  if (ctx.opset() < 2) {
    pads = ctx.attr_ints("paddings");
  } else if (ctx.opset() < 11) {
    pads = ctx.attr_ints("pads");
  } else {
    pads = to_int64_vector(ctx.input(1));
    if (ctx.has_input(3)) ctx.fail("the axes input (opset 18) is not supported");
  }
  if (pads.size() != 2 * rank) {
    ctx.fail("pads " + shape_to_string(pads) + " must have 2 entries per axis of " + shape_to_string(data.shape()));
  }
  const Tensor fill = mode == PadMode::kConstant ? constant_value(ctx, data) : Tensor();
  const auto strides = row_major_strides(data.shape());
  Shape shape(rank);
  std::vector<std::vector<std::int64_t>> offsets(rank);
  for (std::size_t d = 0; d < rank; ++d) {
    const std::int64_t extent = data.shape()[d];
    const std::int64_t begin = pads[d];
    shape[d] = extent + begin + pads[d + rank];
    if (shape[d] < 0) ctx.fail("pads " + shape_to_string(pads) + " crop axis " + std::to_string(d) + " below 0");
    if (extent == 0 && shape[d] > 0 && mode != PadMode::kConstant) {
      ctx.fail("cannot pad the empty axis " + std::to_string(d) + " in a mode that repeats its values");
    }
    offsets[d].resize(static_cast<std::size_t>(shape[d]));
    for (std::int64_t k = 0; k < shape[d]; ++k) {
      const std::int64_t i = source_index(k, begin, extent, mode);
      offsets[d][static_cast<std::size_t>(k)] = i < 0 ? kFillOffset : i * strides[d];
    }
  }
  ctx.set_output(0, copy_by_axis_offsets(data, std::move(shape), offsets, fill.defined() ? &fill : nullptr));
}

}  // namespace

void register_pad_kernels(KernelRegistry& r) { r.add("Pad", 1, pad_kernel); }

}  // namespace onnx_fp16::runtime
