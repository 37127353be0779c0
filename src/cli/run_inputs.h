// The feeds of `onnx-fp16 run`: every --input file read and merged, unnamed tensors (a .npy
// file) given the name of the model's one input.
#pragma once

#include <onnx_fp16/evaluator.h>

#include <map>
#include <string>
#include <vector>

namespace onnx_fp16::cli {

// Throws onnx_fp16::Error naming the file for an unreadable file, a tensor two files both
// hold, or an unnamed tensor when the model does not have exactly one input to feed.
std::map<std::string, Tensor> read_feeds(const std::vector<std::string>& paths, const std::vector<InputInfo>& inputs);

}  // namespace onnx_fp16::cli
