// Model validation the way `onnx.checker.check_model(model, full_check=True)` does it: the
// structural checker, then strict shape/type inference.
#pragma once

#include <onnx/onnx_pb.h>

namespace onnx_fp16 {

// Throws onnx_fp16::Error with the checker's message when the model is invalid. Models newer
// than the installed ONNX (IR version or opset) are checked as far as it can judge them.
void check_model_full(const onnx::ModelProto& model);

}  // namespace onnx_fp16
