// Helpers for conversion tests: convert with the full check, look into the result, run in ORT.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/convert.h>

#include <string>
#include <vector>

namespace test_support {

struct Converted {
  onnx::ModelProto model;
  onnx_fp16::ConversionReport report;
};

// Converts a copy of `model` and checks the result with the ONNX checker (full check); a
// checker failure is a test failure carrying the checker's message.
Converted convert_checked(const onnx::ModelProto& model, const onnx_fp16::Float16Options& options = {});

std::vector<const onnx::NodeProto*> nodes_of(const onnx::GraphProto& graph, const std::string& op_type);
const onnx::NodeProto* node_named(const onnx::GraphProto& graph, const std::string& name);
const onnx::NodeProto* producer_of(const onnx::GraphProto& graph, const std::string& value);
std::vector<const onnx::NodeProto*> readers_of(const onnx::GraphProto& graph, const std::string& value);
const onnx::TensorProto* initializer_named(const onnx::GraphProto& graph, const std::string& name);
// Element type declared for a name in graph inputs, outputs, value_info or initializers; 0 if none.
int declared_elem_type(const onnx::GraphProto& graph, const std::string& name);
int input_elem_type(const onnx::GraphProto& graph, int index);
int output_elem_type(const onnx::GraphProto& graph, int index);
const onnx_fp16::KeptNode* find_kept(const onnx_fp16::ConversionReport& report, const std::string& name);

// A float32 tensor named `name`.
onnx::TensorProto float_tensor(const std::string& name, const std::vector<std::int64_t>& dims,
                               const std::vector<float>& values);
// Inputs for a converted model: float32 tensors become float16 where the model's input is float16.
std::vector<onnx::TensorProto> inputs_for(const onnx::ModelProto& model, const std::vector<onnx::TensorProto>& inputs);
// Runs the model in ONNX Runtime (saved to a temp file); fails the test on an ORT error.
// Outputs come back as float32 where the model produced float16.
std::vector<onnx::TensorProto> run_in_ort(const onnx::ModelProto& model, const std::vector<onnx::TensorProto>& inputs);

}  // namespace test_support
