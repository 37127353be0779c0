// A small model with a planted float16 hazard, for the mixed-precision tests.
#pragma once

#include <onnx/onnx_pb.h>
#include <onnx_fp16/mixed.h>

#include <cstdint>
#include <random>
#include <vector>

namespace test_support {

// x [4,16] -> MatMul "project" -> {Tanh "activation", Mul "planted/scale" (x300) ->
// Mul "planted/square" (s*s) -> Div "planted/normalize" (/1e5)} -> Add "merge" -> MatMul "head"
// -> y [4,8]. On inputs of unit scale planted/square's float32 values reach ~1e6 (float16
// overflows at 65504); the Div brings them back. The divisor 1e5 is also beyond the
// conversion's max_finite_val (1e4): a converted Div is wrong on any input.
onnx::ModelProto planted_overflow_model();

// x [8,64] -> `layers` x (MatMul, Add, Tanh) -> y [8,64], weights of unit gain: no hazard, but
// every node adds its float16 rounding error, so a tight tolerance admits only some of them.
onnx::ModelProto deep_chain_model(int layers);

// x for that model: normal values of the given scale.
onnx_fp16::Feeds planted_model_sample(std::uint32_t seed, float scale = 1.0f);

std::vector<float> normal_values(std::size_t count, float scale, std::mt19937& rng);

}  // namespace test_support
