// Runs the independent numpy float16 emulation (tests/emulation/emulate_float16.py) on a model:
// the second faithful float16 implementation the tests judge the evaluator and auto-mixed by.
// Needs Debian's /usr/bin/python3 with python3-numpy and python3-onnx.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/tensor.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace test_support {

struct EmulationOptions {
  // false: float16 values are held in float32 and only graph outputs are rounded (what ONNX
  // Runtime's CPU path computes).
  bool intermediate_rounding = true;
  // Sums and dot products accumulate in float64: another accumulation order and precision than
  // the evaluator's, as a GPU has.
  bool accumulate_float64 = false;
};

// Whether the emulation can run here.
bool float16_emulation_available();

// The emulation's outputs, in graph order, for `model` on `feeds`; files go under `dir`. Adds a
// gtest failure (and returns no outputs) when the script fails.
std::vector<onnx_fp16::Tensor> run_float16_emulation(const std::filesystem::path& dir, const onnx::ModelProto& model,
                                                      const std::map<std::string, onnx_fp16::Tensor>& feeds,
                                                      const EmulationOptions& options = {});

}  // namespace test_support
