// Inputs read rounded (runtime/read_rounding.h), the mixed-precision search's simulation of a
// converted constant: a node run on a float32 weight with a rounding gives the bits of the node
// run on the weight rounded beforehand, whether its kernel rounds as it reads (MatMul, Gemm,
// Gather) or is handed a rounded copy (every other kernel), and the weight itself is unchanged.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "half/half.h"
#include "modelgen/builder.h"
#include "runtime/graph_plan.h"
#include "runtime/kernel_registry.h"
#include "runtime/read_rounding.h"

namespace {

using modelgen::GraphBuilder;
using onnx_fp16::Tensor;
using onnx_fp16::runtime::ReadRounding;
namespace half = onnx_fp16::half;
namespace runtime = onnx_fp16::runtime;
constexpr int F32 = onnx::TensorProto::FLOAT;

std::vector<std::uint32_t> bits_of(const Tensor& tensor) {
  std::vector<std::uint32_t> bits;
  for (const float x : tensor.data<float>()) bits.push_back(std::bit_cast<std::uint32_t>(x));
  return bits;
}

// `tensor` rounded element by element with the scalar conversions.
Tensor rounded_by_hand(const Tensor& tensor, const ReadRounding& rounding) {
  std::vector<float> values;
  for (const float x : tensor.data<float>()) {
    if (rounding.target == ReadRounding::Target::BFloat16) {
      values.push_back(half::bfloat16_to_float(half::float_to_bfloat16(x)));
    } else {
      const float clamped = rounding.clamp ? half::clamp_constant(x, rounding.rule.min_positive, rounding.rule.max_finite) : x;
      values.push_back(half::half_to_float(half::float_to_half(clamped)));
    }
  }
  return Tensor::from_vector<float>(tensor.shape(), values);
}

Tensor random_tensor(const onnx_fp16::Shape& shape, std::mt19937& random) {
  std::normal_distribution<float> normal;
  std::int64_t count = 1;
  for (const auto d : shape) count *= d;
  std::vector<float> values(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < values.size(); ++i) {
    values[i] = normal(random);
    if (i % 5 == 0) values[i] *= 1e-8f;  // below min_positive: the clamp raises it
    if (i % 9 == 4) values[i] *= 3e4f;   // above max_finite: lowered, or float16 infinity unclamped
  }
  return Tensor::from_vector<float>(shape, values);
}

TEST(RuntimeReadRounding, ANodeReadingAWeightRoundedComputesWhatTheRoundedWeightGives) {
  // w [40, 33] read by a MatMul (m = 6: the own kernel's tiles on AVX-512 CPUs), a MatMul of one
  // row (OpenBLAS's matrix-vector product, on a rounded copy), a Gemm with w transposed, a Gather
  // (rows of w) and an Add (no rounding of its own: a rounded copy).
  auto model = modelgen::make_model(17);
  GraphBuilder g(model.mutable_graph());
  g.input("a", F32, {6, 40}).input("row", F32, {1, 40}).input("at", F32, {5, 33}).input("idx", onnx::TensorProto::INT64, {3});
  g.initializer("w", {40, 33}, std::vector<float>(40 * 33, 0.0f));
  g.node("MatMul", {"a", "w"}, {"product"}, "matmul");
  g.node("MatMul", {"row", "w"}, {"row_product"}, "matmul_row");
  modelgen::attr_int(g.node("Gemm", {"at", "w"}, {"gemm"}, "gemm"), "transB", 1);
  g.node("Gather", {"w", "idx"}, {"rows"}, "gather");
  g.node("Add", {"w", "w"}, {"sum"}, "add");
  for (const char* name : {"product", "row_product", "gemm", "rows", "sum"}) g.output_untyped(name);
  runtime::PlanOptions options;
  options.registry = &runtime::KernelRegistry::builtin();
  options.opsets[""] = 17;
  const auto plan = runtime::compile_main_graph(model.graph(), options);

  std::mt19937 random(13);
  const Tensor w = random_tensor({40, 33}, random);
  const std::vector<std::uint32_t> w_bits = bits_of(w);
  std::map<std::string, Tensor> given{{"a", random_tensor({6, 40}, random)},
                                      {"row", random_tensor({1, 40}, random)},
                                      {"at", random_tensor({5, 33}, random)},
                                      {"idx", Tensor::from_vector<std::int64_t>({3}, {7, 0, -1})},
                                      {"w", w}};
  const ReadRounding roundings[] = {{.target = ReadRounding::Target::Float16, .clamp = true, .rule = {1e-7f, 1e4f}},
                                    {.target = ReadRounding::Target::Float16},
                                    {.target = ReadRounding::Target::BFloat16}};
  for (const ReadRounding& rounding : roundings) {
    const Tensor w_rounded = rounded_by_hand(w, rounding);
    for (const auto& node : plan->nodes) {
      std::vector<const Tensor*> inputs, rounded_inputs;
      std::vector<ReadRounding> reading;
      for (const auto& name : node.proto->input()) {
        inputs.push_back(&given.at(name));
        rounded_inputs.push_back(name == "w" ? &w_rounded : &given.at(name));
        reading.push_back(name == "w" ? rounding : ReadRounding{});
      }
      for (const int threads : {1, 2}) {
        const auto expected = runtime::run_compiled_node(node, *plan, rounded_inputs, {.threads = threads});
        const auto got = runtime::run_compiled_node(node, *plan, inputs, {.threads = threads, .read_rounding = reading});
        ASSERT_EQ(bits_of(got.at(0)), bits_of(expected.at(0)))
            << node.label << ", target " << static_cast<int>(rounding.target) << " clamp " << rounding.clamp;
      }
    }
  }
  EXPECT_EQ(bits_of(w), w_bits) << "the weight itself was changed";
  // Which kernels round as they read: the others were handed copies above.
  EXPECT_TRUE(plan->nodes[0].reads_rounded[1]);   // MatMul's b
  EXPECT_FALSE(plan->nodes[0].reads_rounded[0]);  // its a
  EXPECT_TRUE(plan->nodes[3].reads_rounded[0]);   // Gather's data
  EXPECT_FALSE(plan->nodes[4].reads_rounded[1]);  // Add
}

}  // namespace
