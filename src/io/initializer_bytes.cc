// initializer_bytes: how much tensor data a model's initializers hold, in any representation.
#include <cstdint>

#include "io/proto_walk.h"
#include "io/tensor_bytes.h"
#include "onnx_fp16/model_io.h"

namespace onnx_fp16 {

std::uint64_t initializer_bytes(const onnx::ModelProto& model) {
  std::uint64_t total = 0;
  io::for_each_nested<onnx::GraphProto>(model, [&](const onnx::GraphProto& graph) {
    for (const auto& tensor : graph.initializer()) total += io::tensor_data_bytes(tensor);
    for (const auto& sparse : graph.sparse_initializer()) total += io::tensor_data_bytes(sparse.values()) + io::tensor_data_bytes(sparse.indices());
  });
  return total;
}

}  // namespace onnx_fp16
