// The conversion pipeline behind convert_float_to_float16: checks -> shape inference -> types ->
// policy -> plan -> rewrite. Internal callers (the mixed-precision search) also choose nodes
// to keep in float32 that have no unique name to put in a block list.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/convert.h>

#include <vector>

namespace onnx_fp16::convert {

// Converts `model` in place. forced_keep: empty, or by NodeId of graph::GraphIndex(model)
// (main graph first, then bodies, in proto order): true keeps the node in float32, reported
// as blocked by the caller.
ConversionReport run_pipeline(onnx::ModelProto& model, const Float16Options& options,
                              const std::vector<bool>& forced_keep);

}  // namespace onnx_fp16::convert
