// com.microsoft NhwcConv (ONNX Runtime's channels-last Conv, from its diffusion-model fusions):
// X [N, spatial..., C] -> Y [N, spatial..., M], with W [M, C/group, k...] and B [M] as Conv
// takes them and Conv's attributes (ContribOperators.md documents W in Conv's layout; ONNX
// Runtime implements the op on CUDA only). Computed as Conv on the input brought to
// channels-first, its output brought back: the same products, so the same numbers as Conv.
#include <numeric>
#include <vector>

#include "runtime/element_types.h"
#include "runtime/kernel_registry.h"
#include "runtime/kernels/math_permute.h"

namespace onnx_fp16::runtime {

namespace {

Tensor permuted(const Tensor& x, const std::vector<std::size_t>& perm) {
  Tensor out;
  dispatch<FloatTypes>(x.dtype(), [&]<typename S>(std::type_identity<S>) {
    out = Tensor::from_vector<S>(math::permuted_shape(x.shape(), perm), math::permute_values<S>(x.data<S>(), x.shape(), perm));
  });
  return out;
}

void nhwc_conv_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const std::size_t rank = x.rank();
  if (rank < 3) ctx.fail("X must be [N, spatial..., C] (rank 3 or more), got " + shape_to_string(x.shape()));
  std::vector<std::size_t> to_channels_first{0, rank - 1};  // [N, C, spatial...]
  for (std::size_t d = 1; d + 1 < rank; ++d) to_channels_first.push_back(d);
  std::vector<std::size_t> to_channels_last{0};  // [N, spatial..., M]
  for (std::size_t d = 2; d < rank; ++d) to_channels_last.push_back(d);
  to_channels_last.push_back(1);

  const Tensor x_first = permuted(x, to_channels_first);
  std::vector<Tensor> outputs(1);
  static const std::map<std::string, Tensor> no_tensor_attributes;
  KernelContext conv_context({.node = &ctx.node(),
                              .opset = 11,
                              .inputs = {&x_first, &ctx.input(1), ctx.optional_input(2)},
                              .outputs = &outputs,
                              .attribute_tensors = &no_tensor_attributes,
                              .subgraphs = nullptr,
                              .threads = ctx.threads()});
  (*KernelRegistry::builtin().find("", "Conv", 11))(conv_context);
  ctx.set_output(0, permuted(outputs[0], to_channels_last));
}

}  // namespace

void register_contrib_nhwc_conv_kernels(KernelRegistry& r) { r.add("com.microsoft", "NhwcConv", 1, nhwc_conv_kernel); }

}  // namespace onnx_fp16::runtime
