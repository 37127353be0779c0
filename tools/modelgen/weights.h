// Deterministic pseudo-random weights for the synthetic models. Benchmark models hold a gigabyte
// or more of float32, so filling must cost a fraction of a second per gigabyte: a counter-based
// integer mix turned into floats by bit tricks, written straight into the tensor's raw_data.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace modelgen {

// Fills `out` with values uniform in [-scale, scale). The same (seed, size) gives the same
// values on every machine.
void fill_uniform(std::span<float> out, std::uint64_t seed, float scale);

// A seed derived from a tensor name, so a weight's values do not depend on the order in which
// the generator happens to create tensors.
std::uint64_t seed_for(std::string_view name, std::uint64_t model_seed);

// Appends a float32 initializer with uniform values in [-scale, scale), seeded by its name.
onnx::TensorProto& add_random_initializer(onnx::GraphProto& graph, const std::string& name,
                                          const std::vector<std::int64_t>& dims, float scale,
                                          std::uint64_t model_seed);

// Appends a float32 initializer with every element equal to `value` (LayerNorm scales, biases).
onnx::TensorProto& add_filled_initializer(onnx::GraphProto& graph, const std::string& name,
                                          const std::vector<std::int64_t>& dims, float value);

// Appends an int64 initializer (shapes, axes, indices). An empty `dims` makes a scalar.
onnx::TensorProto& add_int64_initializer(onnx::GraphProto& graph, const std::string& name,
                                         const std::vector<std::int64_t>& dims,
                                         const std::vector<std::int64_t>& values);

// Appends a float32 scalar initializer (a rank-0 tensor, as exporters write constants).
onnx::TensorProto& add_scalar_initializer(onnx::GraphProto& graph, const std::string& name, float value);

}  // namespace modelgen
