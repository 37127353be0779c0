// Copying a model without copying its big tensor bytes. Saving with external data needs a
// model whose large tensors point to a data file instead of holding raw_data; copying the
// whole model first would need the tensor bytes twice in memory (gigabytes), and the model to
// save is const. This copy takes everything but the raw_data the caller asks to leave out.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>

namespace onnx_fp16::io {

struct RawDataFilter {
  // Whether this tensor's raw_data stays out of the copy.
  std::function<bool(const onnx::TensorProto& original)> leave_out;
  // Called for each tensor left out, with its copy (every field but raw_data), in a fixed
  // order (field order, depth first), so the caller can write the bytes elsewhere and point
  // the copy at them.
  std::function<void(const onnx::TensorProto& original, onnx::TensorProto& copy)> on_left_out;
};

// Copies `source` into `target` (an empty message of the same type), applying `filter`.
void copy_with_raw_data_filter(const google::protobuf::Message& source, google::protobuf::Message& target,
                               const RawDataFilter& filter);

}  // namespace onnx_fp16::io
