#include "runtime/float_compute.h"

#include "half/half.h"
#include "onnx_fp16/error.h"
#include "runtime/value_conversion.h"

namespace onnx_fp16::runtime {

namespace {

// Float16/BFloat16 are single-member structs of uint16_t; src/half works on uint16_t spans.
template <typename Half>
std::span<const std::uint16_t> bits_of(std::span<const Half> values) {
  static_assert(sizeof(Half) == sizeof(std::uint16_t) && std::is_standard_layout_v<Half>);
  return {reinterpret_cast<const std::uint16_t*>(values.data()), values.size()};
}
template <typename Half>
std::span<std::uint16_t> bits_of(std::span<Half> values) {
  static_assert(sizeof(Half) == sizeof(std::uint16_t) && std::is_standard_layout_v<Half>);
  return {reinterpret_cast<std::uint16_t*>(values.data()), values.size()};
}

}  // namespace

void widen_to_float(std::span<const Float16> in, std::span<float> out) { half::halves_to_floats(bits_of(in), out); }
void widen_to_float(std::span<const BFloat16> in, std::span<float> out) {
  half::bfloat16s_to_floats(bits_of(in), out);
}
void round_from_float(std::span<const float> in, std::span<Float16> out) { half::floats_to_halves(in, bits_of(out)); }
void round_from_float(std::span<const float> in, std::span<BFloat16> out) {
  half::floats_to_bfloat16s(in, bits_of(out));
}

std::vector<float> to_float_vector(const Tensor& tensor) {
  return dispatch<FloatTypes>(tensor.dtype(), [&]<typename S>(std::type_identity<S>) {
    const InputValues<S> values(tensor);
    return std::vector<float>(values.span().begin(), values.span().end());
  });
}

Tensor make_float_tensor(DataType type, Shape shape, std::span<const float> values) {
  return dispatch<FloatTypes>(type, [&]<typename S>(std::type_identity<S>) {
    OutputValues<S> out(std::move(shape));
    if (values.size() != out.size()) throw Error("make_float_tensor: value count does not match the shape");
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = static_cast<compute_t<S>>(values[i]);
    return std::move(out).finish();
  });
}

Tensor make_float_tensor(DataType type, Shape shape, std::span<const double> values) {
  return dispatch<FloatTypes>(type, [&]<typename S>(std::type_identity<S>) {
    Tensor tensor = Tensor::uninitialized(type, std::move(shape));
    auto out = tensor.mutable_data<S>();
    if (values.size() != out.size()) throw Error("make_float_tensor: value count does not match the shape");
    // Straight from double: through float32 first would round twice.
    for (std::size_t i = 0; i < values.size(); ++i) out[i] = convert_value<S>(values[i]);
    return tensor;
  });
}

}  // namespace onnx_fp16::runtime
