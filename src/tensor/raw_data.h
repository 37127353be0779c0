// Tensors whose values a caller copies in itself: a plan copies large initializers from their
// raw_data in parts over its threads (runtime/graph_plan.cc), where Tensor::from_proto would
// copy them on one thread (first touches of fresh memory are most of the cost of a large model's
// load on the machines measured).
#pragma once

#include <onnx/onnx_pb.h>

#include <optional>

#include <onnx_fp16/tensor.h>

namespace onnx_fp16::tensor_detail {

// The tensor for `proto`, allocated and not filled, when its values are exactly its raw_data
// bytes: a fixed-size element type other than bool (whose bytes from_proto normalises), data
// neither external nor segmented, raw_data of exactly the dims' byte size. Otherwise nothing,
// and Tensor::from_proto is the way (it converts typed fields, or says what is wrong).
std::optional<Tensor> allocate_for_raw_data(const onnx::TensorProto& proto);

}  // namespace onnx_fp16::tensor_detail
