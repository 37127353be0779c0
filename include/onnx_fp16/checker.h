// The ONNX checker, the way `onnx.checker.check_model(model, full_check=True)` runs it: the
// structural checker, then strict shape/type inference.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>

namespace onnx_fp16 {

// Throws onnx_fp16::Error with the checker's message when the model is invalid. A model newer
// than the installed ONNX (IR version or opset) cannot be judged by it: then the check is
// skipped and the returned note says why; otherwise the note is empty.
std::string check_model_full(const onnx::ModelProto& model);

}  // namespace onnx_fp16
