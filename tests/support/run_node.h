// Running one ONNX node through the evaluator: the kernel tests' way to exercise an op.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace test_support {

struct NodeInput {
  std::string name;
  onnx_fp16::Tensor value;  // undefined: an omitted optional input
};

// Runs one node `op` (at `opset` of its domain) on the inputs and returns its outputs by name.
std::map<std::string, onnx_fp16::Tensor> run_node(const std::string& op, const std::vector<NodeInput>& inputs,
                                                  const std::vector<std::string>& outputs,
                                                  const std::function<void(onnx::NodeProto&)>& attributes = {},
                                                  int opset = 17, const std::string& domain = "", int threads = 1);

// A quantized operand for the integer kernels' tests: `values` (each in the type's range) as an
// int8 tensor when `int8`, else as a uint8 one.
onnx_fp16::Tensor int8_or_uint8(bool int8, onnx_fp16::Shape shape, const std::vector<int>& values);

}  // namespace test_support
