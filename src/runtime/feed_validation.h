// The graph inputs a model declares, and the check of a run's feeds against them: every
// problem is reported with the input's name and what the model expects.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/evaluator.h>

#include <map>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace onnx_fp16::runtime {

// The main graph's inputs. Throws onnx_fp16::Error ("unsupported input type: ...") for an
// input that is not a tensor (sequence, map, optional), which the evaluator does not run.
std::vector<InputInfo> describe_inputs(const onnx::GraphProto& graph);

// "FLOAT16 [batch,3]" / "FLOAT (any shape)": what an input expects, for messages.
std::string describe_expected(const InputInfo& input);

// Throws onnx_fp16::Error listing every problem: unknown names (with the model's input names),
// missing inputs, feeds without a value, wrong element types, wrong ranks, wrong fixed sizes.
void validate_feeds(const std::vector<InputInfo>& inputs, const std::map<std::string, Tensor>& feeds);

}  // namespace onnx_fp16::runtime
