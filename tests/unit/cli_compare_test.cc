// onnx_fp16::compare_tensors (numpy.allclose semantics and the error statistics) and
// `onnx-fp16 compare` as users run it on .npz files.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <onnx_fp16/compare.h>
#include <onnx_fp16/tensor_io.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "support/paths.h"
#include "support/run_cli.h"

namespace {

namespace fs = std::filesystem;
using onnx_fp16::compare_tensors;
using onnx_fp16::Tensor;
using onnx_fp16::Tolerance;
using test_support::CliRun;
using test_support::fresh_temp_dir;
using test_support::run_cli;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

Tensor f32(std::vector<float> values) { return Tensor::from_vector<float>({static_cast<std::int64_t>(values.size())}, values); }

TEST(CompareTensors, FollowsNumpyAllclose) {
  // |a - b| <= atol + rtol * |b|: the tolerance scales with b only.
  EXPECT_TRUE(onnx_fp16::allclose(f32({100.0f}), f32({100.001f})));
  EXPECT_FALSE(onnx_fp16::allclose(f32({1.0f}), f32({1.001f})));
  EXPECT_TRUE(onnx_fp16::allclose(f32({1.0f}), f32({1.001f}), {.rtol = 1e-3, .atol = 0}));
  EXPECT_FALSE(onnx_fp16::allclose(f32({0.0f}), f32({1e-7f})));
  EXPECT_TRUE(onnx_fp16::allclose(f32({0.0f}), f32({1e-7f}), {.rtol = 0, .atol = 1e-6}));
  // NaN is never close; equal infinities are, opposite ones are not.
  EXPECT_FALSE(onnx_fp16::allclose(f32({kNaN}), f32({kNaN})));
  EXPECT_TRUE(onnx_fp16::allclose(f32({kInf, -kInf}), f32({kInf, -kInf})));
  EXPECT_FALSE(onnx_fp16::allclose(f32({kInf}), f32({-kInf})));
  // Shapes must match exactly (no broadcasting).
  const auto d = compare_tensors(f32({1, 2}), Tensor::from_vector<float>({2, 1}, {1, 2}));
  EXPECT_FALSE(d.close);
  EXPECT_NE(d.problem.find("shapes differ"), std::string::npos);
}

TEST(CompareTensors, ReportsErrorStatistics) {
  const auto d = compare_tensors(f32({1, 2, 0, kNaN, 5}), f32({1, 2.5f, 0.5f, 1, 5}), Tolerance{});
  EXPECT_EQ(d.count, 5u);
  EXPECT_EQ(d.not_close, 3u);
  EXPECT_EQ(d.nonfinite_mismatches, 1u);
  EXPECT_DOUBLE_EQ(d.max_abs_error, 0.5);
  EXPECT_EQ(d.max_abs_error_index, 1u);  // the first of the two largest errors
  EXPECT_DOUBLE_EQ(d.max_rel_error, 1.0);  // |0 - 0.5| / 0.5
  // Over the finite pairs (1,1), (2,2.5), (0,0.5), (5,5).
  const double cosine = (1 + 5 + 25) / (std::sqrt(1 + 4 + 25.0) * std::sqrt(1 + 6.25 + 0.25 + 25));
  EXPECT_NEAR(d.cosine_similarity, cosine, 1e-12);
  EXPECT_TRUE(std::isinf(compare_tensors(f32({1}), f32({0})).max_rel_error));
  EXPECT_EQ(compare_tensors(f32({0, 0}), f32({0, 0})).cosine_similarity, 1.0);
  EXPECT_EQ(compare_tensors(f32({0, 0}), f32({1, 0})).cosine_similarity, 0.0);
}

TEST(CompareTensors, ComparesAcrossElementTypes) {
  // float16 0.1 is 0.0999755859375: within 1e-4 of float32 0.1, not within numpy's defaults.
  const Tensor half = Tensor::from_vector<onnx_fp16::Float16>({1}, {{0x2e66}});
  EXPECT_FALSE(onnx_fp16::allclose(half, f32({0.1f})));
  EXPECT_TRUE(onnx_fp16::allclose(half, f32({0.1f}), {.rtol = 0, .atol = 1e-4}));
  EXPECT_TRUE(onnx_fp16::allclose(Tensor::from_vector<std::int64_t>({2}, {1, 2}), f32({1, 2})));
  EXPECT_TRUE(onnx_fp16::allclose(Tensor::from_vector({1}, {"a"}), Tensor::from_vector({1}, {"a"})));
  EXPECT_FALSE(onnx_fp16::allclose(Tensor::from_vector({1}, {"a"}), Tensor::from_vector({1}, {"b"})));
  EXPECT_NE(compare_tensors(Tensor::from_vector({1}, {"a"}), f32({1})).problem.find("cannot compare STRING"),
            std::string::npos);
}

// --- the CLI ---------------------------------------------------------------------------------

struct Files {
  fs::path a, b;
};

Files write_pair(const std::string& label, const std::map<std::string, Tensor>& a, const std::map<std::string, Tensor>& b) {
  const fs::path dir = fresh_temp_dir(label);
  onnx_fp16::write_npz(dir / "a.npz", a);
  onnx_fp16::write_npz(dir / "b.npz", b);
  return {dir / "a.npz", dir / "b.npz"};
}

TEST(CliCompare, CloseFilesExitZero) {
  const Files f = write_pair("cmp_close", {{"y", f32({1, 2, 3})}, {"z", f32({0})}}, {{"y", f32({1, 2, 3})}, {"z", f32({0})}});
  const CliRun run = run_cli({"compare", f.a.string(), f.b.string()});
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("y     FLOAT [3]"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("close\n"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("2 of 2 shared tensors close"), std::string::npos) << run.out;
}

TEST(CliCompare, ToleranceDecides) {
  const Files f = write_pair("cmp_tol", {{"y", f32({1.0f, 2.0f})}}, {{"y", f32({1.001f, 2.0f})}});
  const CliRun strict = run_cli({"compare", f.a.string(), f.b.string()});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.out.find("NOT CLOSE (1 of 2)"), std::string::npos) << strict.out;
  EXPECT_NE(strict.out.find("max abs 0.001"), std::string::npos) << strict.out;
  EXPECT_EQ(run_cli({"compare", f.a.string(), f.b.string(), "--rtol", "1e-3"}).exit_code, 0);
  EXPECT_EQ(run_cli({"compare", f.a.string(), f.b.string(), "--rtol", "0", "--atol", "0.0011"}).exit_code, 0);
  EXPECT_EQ(run_cli({"compare", f.a.string(), f.b.string(), "--rtol", "-1"}).exit_code, 2);
}

TEST(CliCompare, NamesInOneFileOnlyAndShapeMismatchesFail) {
  const Files f = write_pair("cmp_names", {{"y", f32({1, 2})}, {"extra", f32({1})}},
                             {{"y", Tensor::from_vector<float>({1, 2}, {1, 2})}, {"missing", f32({1})}});
  const CliRun run = run_cli({"compare", f.a.string(), f.b.string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.out.find("only in " + f.a.string() + ": extra"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("only in " + f.b.string() + ": missing"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("shapes differ: [2] vs [1,2]"), std::string::npos) << run.out;
}

TEST(CliCompare, JsonOutput) {
  const Files f = write_pair("cmp_json", {{"y", f32({1, kNaN})}, {"only", f32({1})}}, {{"y", f32({1.5f, 1})}});
  const CliRun run = run_cli({"compare", f.a.string(), f.b.string(), "--json", "--atol", "0.1"});
  EXPECT_EQ(run.exit_code, 1);
  const auto json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["rtol"], 1e-5);
  EXPECT_EQ(json["atol"], 0.1);
  EXPECT_EQ(json["all_close"], false);
  EXPECT_EQ(json["only_in_a"], nlohmann::json::array({"only"}));
  EXPECT_TRUE(json["only_in_b"].empty());
  ASSERT_EQ(json["tensors"].size(), 1u);
  const auto& y = json["tensors"][0];
  EXPECT_EQ(y["name"], "y");
  EXPECT_EQ(y["a"]["dtype"], "FLOAT");
  EXPECT_EQ(y["a"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(y["close"], false);
  EXPECT_EQ(y["not_close"], 2);
  EXPECT_EQ(y["nonfinite_mismatches"], 1);
  EXPECT_DOUBLE_EQ(y["max_abs_error"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(y["cosine_similarity"].get<double>(), 1.0);
}

TEST(CliCompare, UnreadableFileIsAnError) {
  const fs::path dir = fresh_temp_dir("cmp_missing");
  onnx_fp16::write_npz(dir / "a.npz", {{"y", f32({1})}});
  const CliRun run = run_cli({"compare", (dir / "a.npz").string(), (dir / "nope.npz").string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("nope.npz"), std::string::npos) << run.err;
}

}  // namespace
