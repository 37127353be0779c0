// HannWindow, HammingWindow, BlackmanWindow (opset 17): a window of `size` values (a scalar
// input) of type output_datatype (float by default), periodic (denominator size) or symmetric
// (size - 1). Computed in double and converted once to the output type, as the reference's
// float64 numpy computation followed by astype.
#include <cmath>
#include <numbers>
#include <vector>

#include "runtime/kernel_registry.h"
#include "runtime/tensor_cast.h"

namespace onnx_fp16::runtime {

namespace {

// a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N).
Kernel window_kernel(double a0, double a1, double a2) {
  return [a0, a1, a2](KernelContext& ctx) {
    const std::int64_t size = scalar_to_int64(ctx.input(0));
    if (size < 0) ctx.fail("size must not be negative, not " + std::to_string(size));
    const bool periodic = ctx.attr_int("periodic", 1) != 0;
    const auto type = static_cast<DataType>(ctx.attr_int("output_datatype", onnx::TensorProto::FLOAT));
    const double denominator = static_cast<double>(periodic ? size : size - 1);
    std::vector<double> values(static_cast<std::size_t>(size));
    for (std::int64_t i = 0; i < size; ++i) {
      const double phase = 2 * std::numbers::pi * static_cast<double>(i) / denominator;
      values[static_cast<std::size_t>(i)] = a0 - a1 * std::cos(phase) + a2 * std::cos(2 * phase);
    }
    ctx.set_output(0, cast_tensor(Tensor::from_vector<double>({size}, values), type));
  };
}

}  // namespace

void register_signal_windows_kernels(KernelRegistry& r) {
  r.add("HannWindow", 17, window_kernel(0.5, 0.5, 0.0));
  r.add("HammingWindow", 17, window_kernel(25.0 / 46.0, 1.0 - 25.0 / 46.0, 0.0));
  r.add("BlackmanWindow", 17, window_kernel(0.42, 0.5, 0.08));
}

}  // namespace onnx_fp16::runtime
