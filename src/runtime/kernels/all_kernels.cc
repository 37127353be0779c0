// The list of kernel families. Adding a family: write kernels/<family>.cc defining
// `void register_<family>_kernels(KernelRegistry&)`, and add one FAMILY(<family>) line below.
#include "runtime/kernel_registry.h"

#define ONNX_FP16_KERNEL_FAMILIES(FAMILY) \
  FAMILY(elementwise_unary)               \
  FAMILY(elementwise_binary)              \
  FAMILY(elementwise_logic)               \
  FAMILY(elementwise_trig)                \
  FAMILY(bit_shift)                       \
  FAMILY(losses)                          \
  FAMILY(grid_sample)                     \
  FAMILY(signal_windows)                  \
  FAMILY(determinant)                     \
  FAMILY(cast)                            \
  FAMILY(constants_and_shapes)            \
  FAMILY(control_flow)                    \
  FAMILY(convolution)                     \
  FAMILY(pooling)                         \
  FAMILY(resampling)                      \
  FAMILY(local_response_norm)             \
  FAMILY(matmul)                          \
  FAMILY(einsum)                          \
  FAMILY(reduce)                          \
  FAMILY(arg_topk)                        \
  FAMILY(cumsum)                          \
  FAMILY(softmax)                         \
  FAMILY(normalization)                   \
  FAMILY(contrib_transformer)             \
  FAMILY(contrib_attention)               \
  FAMILY(contrib_fusions)                 \
  FAMILY(contrib_nhwc_conv)               \
  FAMILY(activations_extra)               \
  FAMILY(reshape_ops)                     \
  FAMILY(transpose_ops)                   \
  FAMILY(concat_split)                    \
  FAMILY(slice)                           \
  FAMILY(selection_ops)                   \
  FAMILY(repeat_ops)                      \
  FAMILY(pad)                             \
  FAMILY(gather_ops)                      \
  FAMILY(scatter_ops)                     \
  FAMILY(generator_ops)                   \
  FAMILY(masking_ops)                     \
  FAMILY(recurrent)                       \
  FAMILY(detection)                       \
  FAMILY(quantization)                    \
  FAMILY(qlinear) \
  FAMILY(dropout)

namespace onnx_fp16::runtime {

#define ONNX_FP16_DECLARE_FAMILY(family) void register_##family##_kernels(KernelRegistry& registry);
ONNX_FP16_KERNEL_FAMILIES(ONNX_FP16_DECLARE_FAMILY)
#undef ONNX_FP16_DECLARE_FAMILY

void register_all_kernels(KernelRegistry& registry) {
#define ONNX_FP16_REGISTER_FAMILY(family) register_##family##_kernels(registry);
  ONNX_FP16_KERNEL_FAMILIES(ONNX_FP16_REGISTER_FAMILY)
#undef ONNX_FP16_REGISTER_FAMILY
}

}  // namespace onnx_fp16::runtime
