// Dropout in inference: the data passes through unchanged and the mask keeps everything.
// Training mode with a non-zero ratio draws random numbers, which no reference could reproduce:
// it is refused.
#include "runtime/float_compute.h"
#include "runtime/kernel_registry.h"

namespace onnx_fp16::runtime {

namespace {

void dropout(KernelContext& ctx) {
  // From opset 12 the training_mode input asks for training. Before opset 7 the is_test
  // attribute did; runtimes run such models as inference, and so does this kernel.
  bool training = false;
  if (ctx.opset() >= 12 && ctx.has_input(2)) training = scalar_to_bool(ctx.input(2));
  // A zero ratio drops nothing even in training: deterministic, so it runs.
  if (training && ctx.has_input(1) && scalar_to_double(ctx.input(1)) == 0.0) training = false;
  if (training) ctx.fail("Dropout in training mode is random and is not supported");
  const Tensor& data = ctx.input(0);
  ctx.set_output(0, data);
  if (ctx.output_count() > 1 && ctx.output_wanted(1)) {
    // The mask is bool from opset 10; before, it has the data's type.
    if (ctx.opset() >= 10) {
      Tensor mask(onnx::TensorProto::BOOL, data.shape());
      for (auto& keep : mask.mutable_data<bool>()) keep = true;
      ctx.set_output(1, std::move(mask));
    } else {
      std::vector<float> ones(data.size(), 1.0f);
      ctx.set_output(1, make_float_tensor(data.dtype(), data.shape(), std::span<const float>(ones)));
    }
  }
}

}  // namespace

void register_dropout_kernels(KernelRegistry& r) { r.add("Dropout", 1, dropout); }

}  // namespace onnx_fp16::runtime
