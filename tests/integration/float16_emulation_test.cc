// The evaluator's float16 contract checked against an independent numpy emulation
// (tests/emulation/emulate_float16.py): for one small graph per operator family, converted to
// float16, the evaluator and the emulation must produce the same float16 bits — or, where the
// float32 part of the computation legitimately differs (summation order, libm functions),
// agree within one float16 ulp on a small fraction of the elements (see Agreement in
// emulation/float16_families.h). Both are also compared, for closeness only, with ONNX
// Runtime, which is not a faithful float16 reference (docs/evaluator.md).
//
// Needs Debian's /usr/bin/python3 with python3-numpy and python3-onnx; skips without them.
#include <gtest/gtest.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "emulation/float16_families.h"
#include "half/half.h"
#include "support/conversion.h"
#include "support/float16_emulation.h"
#include "support/ort_client.h"
#include "support/paths.h"
#include "support/run_cli.h"
#include "support/tensor_data.h"

namespace {

namespace fs = std::filesystem;
using onnx_fp16::Tensor;
using TensorMap = std::map<std::string, Tensor>;

// Agreement::OneUlp: at most this fraction of a family's float16 elements may differ (by one
// ulp). Summation-order differences move a float32 result by ~1e-7 relative; a float16 rounding
// boundary is that close for about one value in a thousand, so 1% leaves a wide margin while
// still catching a kernel that rounds an intermediate or accumulates in float16.
constexpr double kMaxDifferingFraction = 0.01;

// Whether the emulation can run here: Debian's python with numpy and onnx.
bool emulation_available() { return test_support::float16_emulation_available(); }


// Random float16 feeds for the float inputs (in [low, high)), the case's fixed feeds for others.
TensorMap make_feeds(const onnx::ModelProto& converted, const emulation::FamilyCase& family, std::uint32_t seed) {
  TensorMap feeds;
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(family.low, family.high);
  for (const auto& input : converted.graph().input()) {
    if (auto fixed = family.fixed_feeds.find(input.name()); fixed != family.fixed_feeds.end()) {
      feeds[input.name()] = fixed->second;
      continue;
    }
    const auto& type = input.type().tensor_type();
    EXPECT_EQ(type.elem_type(), onnx::TensorProto::FLOAT16) << "input " << input.name() << " was not converted";
    onnx_fp16::Shape shape;
    for (const auto& d : type.shape().dim()) shape.push_back(d.dim_value());
    std::vector<onnx_fp16::Float16> values(onnx_fp16::element_count(shape));
    for (auto& v : values) v.bits = onnx_fp16::half::float_to_half(dist(gen));
    feeds[input.name()] = Tensor::from_vector(shape, values);
  }
  return feeds;
}

// Runs emulate_float16.py on the saved model and feeds; the outputs in graph order.
std::vector<Tensor> run_emulation(const fs::path& dir, const onnx::ModelProto& model, const TensorMap& feeds,
                                  bool intermediate_rounding = true) {
  return test_support::run_float16_emulation(dir, model, feeds, {.intermediate_rounding = intermediate_rounding});
}

// float16 bits on a line where adjacent values are adjacent integers (-0 and +0 both at 0).
std::int32_t ordered(std::uint16_t bits) {
  const std::int32_t magnitude = bits & 0x7fff;
  return (bits & 0x8000) ? -magnitude : magnitude;
}
bool is_nan(std::uint16_t bits) { return (bits & 0x7c00) == 0x7c00 && (bits & 0x03ff) != 0; }

struct BitComparison {
  std::size_t elements = 0;
  std::size_t bit_exact = 0;
  std::int64_t max_ulps = 0;
};

// Compares one output of the evaluator with the emulation's: float16 by ulps, others by bytes.
void compare(const std::string& name, const Tensor& ours, const Tensor& reference, BitComparison& agreement) {
  ASSERT_EQ(ours.dtype(), reference.dtype()) << name;
  ASSERT_EQ(ours.shape(), reference.shape()) << name << ": " << onnx_fp16::shape_to_string(ours.shape()) << " vs "
                                             << onnx_fp16::shape_to_string(reference.shape());
  agreement.elements += ours.size();
  if (ours.dtype() != onnx::TensorProto::FLOAT16) {
    const bool same = std::ranges::equal(ours.bytes(), reference.bytes());
    EXPECT_TRUE(same) << name << ": " << onnx_fp16::data_type_name(ours.dtype()) << " values differ";
    if (same) agreement.bit_exact += ours.size();
    return;
  }
  const auto a = ours.data<onnx_fp16::Float16>(), b = reference.data<onnx_fp16::Float16>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].bits == b[i].bits || (is_nan(a[i].bits) && is_nan(b[i].bits))) {
      ++agreement.bit_exact;
      continue;
    }
    const std::int64_t ulps = (is_nan(a[i].bits) || is_nan(b[i].bits)) ? 1 << 16 : std::abs(ordered(a[i].bits) - ordered(b[i].bits));
    agreement.max_ulps = std::max(agreement.max_ulps, ulps);
  }
}

std::vector<double> values_of(const Tensor& tensor) { return test_support::to_doubles(tensor.to_proto()); }

struct OrtCloseness {
  std::size_t elements = 0;
  std::size_t differing = 0;  // elements whose value is not exactly the reference's
  double max_abs_diff = 0;
  std::string error;          // ORT could not run the model
};

// ORT's outputs against `reference` (graph order). Closeness: |ort - ref| <= 2e-2 (1 + |ref|),
// about 20 float16 ulps relative: room for the roundings ORT leaves out in a short chain.
OrtCloseness compare_with_ort(const fs::path& model_path, const TensorMap& feeds, const std::vector<Tensor>& reference,
                              const std::vector<std::string>& names) {
  OrtCloseness closeness;
  std::vector<onnx::TensorProto> inputs;
  for (const auto& [name, tensor] : feeds) inputs.push_back(tensor.to_proto(name));
  const auto result = test_support::OrtClient::shared().run(model_path, inputs);
  if (!result.ok()) {
    closeness.error = result.error;
    return closeness;
  }
  for (std::size_t o = 0; o < reference.size() && o < result.outputs.size(); ++o) {
    const auto ort = test_support::to_doubles(result.outputs[o]);
    const auto ref = values_of(reference[o]);
    if (ort.size() != ref.size()) {
      ADD_FAILURE() << names[o] << ": ORT gave " << ort.size() << " values, expected " << ref.size();
      continue;
    }
    for (std::size_t i = 0; i < ref.size(); ++i) {
      ++closeness.elements;
      if (std::isnan(ref[i]) && std::isnan(ort[i])) continue;
      const double diff = std::fabs(ort[i] - ref[i]);
      if (ort[i] != ref[i]) ++closeness.differing;
      if (!(diff <= 2e-2 * (1 + std::fabs(ref[i])))) {
        if (std::isinf(ref[i]) && ort[i] == ref[i]) continue;
        ADD_FAILURE() << names[o] << "[" << i << "]: ORT " << ort[i] << " vs " << ref[i];
      }
      if (std::isfinite(diff)) closeness.max_abs_diff = std::max(closeness.max_abs_diff, diff);
    }
  }
  return closeness;
}

struct Prepared {
  fs::path dir;
  onnx::ModelProto model;  // converted
  TensorMap feeds;
  std::vector<std::string> output_names;
  std::vector<Tensor> ours;
};

Prepared prepare(const emulation::FamilyCase& family) {
  Prepared p;
  p.dir = test_support::fresh_temp_dir("emulation_" + family.name);
  p.model = test_support::convert_checked(family.model).model;
  p.feeds = make_feeds(p.model, family, 1234);
  const onnx_fp16::Evaluator evaluator(p.model, {.threads = 1, .keep = {}});
  auto results = evaluator.run(p.feeds);
  for (const auto& output : p.model.graph().output()) {
    p.output_names.push_back(output.name());
    p.ours.push_back(results.at(output.name()));
  }
  return p;
}

class Float16Emulation : public ::testing::TestWithParam<emulation::FamilyCase (*)()> {};

TEST_P(Float16Emulation, EvaluatorMatchesNumpyEmulation) {
  if (!emulation_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and onnx (apt install python3-numpy python3-onnx)";
  const emulation::FamilyCase family = GetParam()();
  Prepared p = prepare(family);
  const std::vector<Tensor> emulated = run_emulation(p.dir, p.model, p.feeds);
  ASSERT_EQ(emulated.size(), p.ours.size());

  BitComparison agreement;
  for (std::size_t o = 0; o < p.ours.size(); ++o) compare(p.output_names[o], p.ours[o], emulated[o], agreement);
  const std::size_t differing = agreement.elements - agreement.bit_exact;
  std::printf("[emulation] %-20s %6zu elements, %6zu bit-exact, %4zu differ, max %lld ulp\n", family.name.c_str(),
              agreement.elements, agreement.bit_exact, differing, static_cast<long long>(agreement.max_ulps));
  if (family.agreement == emulation::Agreement::BitExact) {
    EXPECT_EQ(differing, 0u) << family.name << " must be bit-exact (max " << agreement.max_ulps << " ulp)";
  } else {
    EXPECT_LE(agreement.max_ulps, 1) << family.name;
    EXPECT_LE(static_cast<double>(differing), kMaxDifferingFraction * static_cast<double>(agreement.elements))
        << family.name << ": too many 1-ulp differences for summation order alone";
  }

  if (!test_support::ort_availability().installed) {
    std::printf("[emulation] %-20s ORT not installed: closeness check skipped\n", family.name.c_str());
    return;
  }
  const OrtCloseness ort = compare_with_ort(p.dir / "model.onnx", p.feeds, emulated, p.output_names);
  if (!ort.error.empty()) {
    std::printf("[emulation] %-20s ORT could not run the float16 model: %s\n", family.name.c_str(), ort.error.c_str());
  } else {
    std::printf("[emulation] %-20s ORT: %zu of %zu elements differ from the emulation, max |diff| %.3g\n",
                family.name.c_str(), ort.differing, ort.elements, ort.max_abs_diff);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Float16Emulation, ::testing::ValuesIn(emulation::all_families()),
                         [](const auto& info) { return info.param().name; });

// The known trap: ORT's CPU path runs a chain of float16 nodes in float32 and rounds only its
// ends. Printed, not asserted (it depends on ORT's optimiser); the evaluator is held to the
// emulation as everywhere else.
TEST(Float16EmulationOrt, MatMulTanhMatMulMulShowsOrtDropsIntermediateRounding) {
  if (!emulation_available()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and onnx";
  const emulation::FamilyCase family = emulation::matmul_tanh_chain();
  Prepared p = prepare(family);
  const std::vector<Tensor> emulated = run_emulation(p.dir, p.model, p.feeds);
  const std::vector<Tensor> unrounded = run_emulation(p.dir, p.model, p.feeds, /*intermediate_rounding=*/false);
  ASSERT_EQ(emulated.size(), 1u);
  ASSERT_EQ(unrounded.size(), 1u);
  BitComparison agreement;
  compare("y", p.ours[0], emulated[0], agreement);
  EXPECT_LE(agreement.max_ulps, 1);
  std::printf("[emulation] %s: evaluator vs emulation: %zu of %zu bit-exact, max %lld ulp\n", family.name.c_str(),
              agreement.bit_exact, agreement.elements, static_cast<long long>(agreement.max_ulps));

  if (!test_support::ort_availability().installed) GTEST_SKIP() << "ORT not installed";
  const OrtCloseness vs_float16 = compare_with_ort(p.dir / "model.onnx", p.feeds, emulated, {"y"});
  ASSERT_TRUE(vs_float16.error.empty()) << vs_float16.error;
  const OrtCloseness vs_float32 = compare_with_ort(p.dir / "model.onnx", p.feeds, unrounded, {"y"});
  std::printf("[emulation] %s: ORT differs from float16 storage (emulation) in %zu of %zu outputs, "
              "from float32 without intermediate rounding in %zu\n",
              family.name.c_str(), vs_float16.differing, vs_float16.elements, vs_float32.differing);
}

}  // namespace
