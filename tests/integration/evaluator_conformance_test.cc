// The evaluator over ONNX's backend test cases (Debian's libonnx-testdata): every case of every
// folder is run and compared with its expected outputs.
//
// One test per folder. A case fails in one of three ways:
// - an operator without a kernel ("unsupported operator X"): counted per operator and printed,
//   but not a test failure (op families are added over time);
// - listed in evaluator_known_failures.txt with a reason: expected;
// - anything else: the test fails. A listed case that passes fails the test too (remove its
//   line): the list only shrinks.
// ONNX_FP16_UPDATE_KNOWN_FAILURES=1 prints the lines for the current failures.
#include <gtest/gtest.h>
#include <onnx_fp16/onnx_fp16.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>

#include "support/known_failures.h"
#include "support/ort_client.h"
#include "support/paths.h"
#include "support/tensor_compare.h"
#include "support/tensor_data.h"
#include "support/testdata.h"
#include "support/test_env.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using test_support::TestDataCase;

constexpr const char* kMode = "evaluator";
constexpr std::string_view kUnsupportedOperator = "unsupported operator ";
constexpr std::string_view kUnsupportedInput = "unsupported input type: ";

// ONNX's backend runner compares with rtol=1e-3, atol=1e-7; atol=1e-5 leaves room for float32
// results near 0 computed in another order than numpy's. Integers, bools and strings must
// be equal (tensor_compare does that whatever the tolerance).
const test_support::Tolerance kTolerance{.rtol = 1e-3, .atol = 1e-5, .scale = 0.0};

struct Outcome {
  std::string case_id;
  std::string error;        // empty when the case passed
  std::string unsupported;  // "ai.onnx::Foo (opset 13)" when a kernel is missing, "(non-tensor input)"
  double seconds = 0;
};

// Expected and actual as comparable protos: float16 compared through its exact float32 values.
onnx::TensorProto comparable(const onnx::TensorProto& tensor) {
  return tensor.data_type() == onnx::TensorProto::FLOAT16 ? test_support::float16_to_float(tensor) : tensor;
}

// ONNX's test generator had no bfloat16 in numpy and stored bfloat16 tensors as UINT16 (the
// same bits): read them as the bfloat16 values the model declares.
onnx::TensorProto as_declared(onnx::TensorProto tensor, int declared_type) {
  if (declared_type == onnx::TensorProto::BFLOAT16 && tensor.data_type() == onnx::TensorProto::UINT16) {
    tensor = test_support::make_raw_tensor(tensor.name(), onnx::TensorProto::BFLOAT16,
                                           {tensor.dims().begin(), tensor.dims().end()}, test_support::raw_bytes(tensor));
  }
  return tensor;
}

int declared_type(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto* values : {&graph.input(), &graph.output()}) {
    for (const auto& value : *values) {
      if (value.name() == name) return value.type().tensor_type().elem_type();
    }
  }
  return onnx::TensorProto::UNDEFINED;
}

void run_data_set(const onnx_fp16::Evaluator& evaluator, const onnx::ModelProto& model, const fs::path& data_set) {
  const auto sample = test_support::read_test_data_set(data_set);
  const auto names = test_support::fed_input_names(model.graph());
  if (sample.inputs.size() > names.size()) {
    throw std::runtime_error(std::to_string(sample.inputs.size()) + " input files for " +
                             std::to_string(names.size()) + " graph inputs");
  }
  std::map<std::string, onnx_fp16::Tensor> feeds;
  for (std::size_t k = 0; k < sample.inputs.size(); ++k) {
    feeds[names[k]] = onnx_fp16::Tensor::from_proto(as_declared(sample.inputs[k], declared_type(model.graph(), names[k])));
  }
  const auto results = evaluator.run(feeds);
  const auto& outputs = evaluator.output_names();
  if (outputs.size() < sample.outputs.size()) {
    throw std::runtime_error(std::to_string(outputs.size()) + " outputs, expected " +
                             std::to_string(sample.outputs.size()));
  }
  for (std::size_t k = 0; k < sample.outputs.size(); ++k) {
    const auto actual = results.at(outputs[k]).to_proto(outputs[k]);
    const auto expected = as_declared(sample.outputs[k], declared_type(model.graph(), outputs[k]));
    const auto comparison = test_support::compare(comparable(actual), comparable(expected), kTolerance);
    if (!comparison.match) {
      throw std::runtime_error(data_set.filename().string() + " output '" + outputs[k] + "': " + comparison.message);
    }
  }
}

Outcome run_case(const TestDataCase& test_case) {
  Outcome outcome{test_case.id(), "", "", 0};
  const auto start = Clock::now();
  try {
    if (test_case.data_sets.empty()) throw std::runtime_error("no test_data_set folder");
    const auto model = onnx_fp16::load_model(test_case.model());
    std::unique_ptr<onnx_fp16::Evaluator> evaluator;
    try {
      evaluator = std::make_unique<onnx_fp16::Evaluator>(model, onnx_fp16::EvaluatorOptions{.threads = 1, .keep = {}});
    } catch (const onnx_fp16::Error& e) {
      const std::string message = e.what();
      if (message.starts_with(kUnsupportedOperator)) {
        // "unsupported operator ai.onnx::Foo (opset 13) at node 'n'" -> "ai.onnx::Foo (opset 13)"
        outcome.unsupported = message.substr(kUnsupportedOperator.size(),
                                             message.find(" at node") - kUnsupportedOperator.size());
      } else if (message.starts_with(kUnsupportedInput)) {
        outcome.unsupported = "(non-tensor-input)";
      } else {
        throw;
      }
      outcome.error = message;
    }
    if (evaluator != nullptr) {
      for (const auto& data_set : test_case.data_sets) run_data_set(*evaluator, model, data_set);
    }
  } catch (const std::exception& e) {
    outcome.error = e.what();
  }
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

struct Verdict {
  std::size_t passed = 0;
  std::size_t known = 0;
  std::map<std::string, int> unsupported;  // operator (without opset) -> cases
  std::vector<std::string> new_failures;
  std::vector<std::string> fixed;
  std::vector<std::string> stale;
  std::vector<std::string> update_lines;
};

std::string operator_name(const std::string& unsupported) { return unsupported.substr(0, unsupported.find(' ')); }

Verdict judge(const std::string& folder, const std::vector<TestDataCase>& cases, const std::vector<Outcome>& outcomes,
              const test_support::KnownFailures& known) {
  Verdict verdict;
  for (const auto& outcome : outcomes) {
    const auto* entry = known.find(kMode, outcome.case_id);
    if (outcome.error.empty()) {
      ++verdict.passed;
      if (entry != nullptr && !entry->unstable()) {
        verdict.fixed.push_back(outcome.case_id + " (line " + std::to_string(entry->line) + ")");
      }
    } else if (entry != nullptr) {
      ++verdict.known;
      verdict.update_lines.push_back(test_support::known_failure_line(kMode, outcome.case_id, outcome.error));
    } else if (!outcome.unsupported.empty()) {
      ++verdict.unsupported[operator_name(outcome.unsupported)];
    } else {
      verdict.new_failures.push_back(outcome.case_id + ": " + outcome.error);
      verdict.update_lines.push_back(test_support::known_failure_line(kMode, outcome.case_id, outcome.error));
    }
  }
  std::vector<std::string> case_ids;
  for (const auto& c : cases) case_ids.push_back(c.id());
  verdict.stale = test_support::stale_entries(known, kMode, folder, case_ids);
  return verdict;
}

using test_support::indented_lines;

using test_support::env_flag;

void print_summary(const std::string& folder, const std::vector<Outcome>& outcomes, const Verdict& verdict,
                   double seconds) {
  std::size_t unsupported_cases = 0;
  for (const auto& [op, count] : verdict.unsupported) unsupported_cases += static_cast<std::size_t>(count);
  const std::size_t supported = outcomes.size() - unsupported_cases;
  std::cout << std::fixed << std::setprecision(1) << "evaluator " << folder << ": " << verdict.passed << "/"
            << outcomes.size() << " passed (" << (outcomes.empty() ? 0.0 : 100.0 * verdict.passed / outcomes.size())
            << "%); of the " << supported << " cases whose operators all have kernels, " << verdict.passed
            << " passed (" << (supported == 0 ? 0.0 : 100.0 * verdict.passed / supported) << "%), " << verdict.known
            << " known failures, " << verdict.new_failures.size() << " new failures; " << unsupported_cases
            << " cases need " << verdict.unsupported.size() << " unsupported operators; " << seconds << " s\n";
  if (!verdict.unsupported.empty()) {
    std::vector<std::pair<std::string, int>> ops(verdict.unsupported.begin(), verdict.unsupported.end());
    std::stable_sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::cout << "  unsupported op (cases):";
    for (const auto& [op, count] : ops) std::cout << " " << op << " (" << count << ")";
    std::cout << "\n";
  }
  if (env_flag("ONNX_FP16_UPDATE_KNOWN_FAILURES")) {
    std::cout << "# evaluator_known_failures.txt lines for the failures of " << folder << ":\n";
    for (const auto& line : verdict.update_lines) std::cout << line << "\n";
  }
}

// Cases of each folder that pass today (libonnx-testdata 1.12, Debian 12): a floor, because a
// lost kernel family would count its cases as "unsupported", not as failures, and leave the
// suite green. Raise a floor when more cases pass; never lower it to make the suite pass.
const std::map<std::string, std::size_t>& passing_floor() {
  static const std::map<std::string, std::size_t> floors = {
      {"node", 862}, {"simple", 7}, {"pytorch-converted", 82}, {"pytorch-operator", 35}};
  return floors;
}

class EvaluatorConformance : public testing::Test {
 public:
  explicit EvaluatorConformance(std::string folder) : folder_(std::move(folder)) {}

  void TestBody() override {
    const auto cases = test_support::list_testdata_cases(folder_);
    if (cases.empty()) {
      const std::string message = "no test cases in " + (test_support::testdata_root() / folder_).string() +
                                  " (apt install libonnx-testdata)";
      if (test_support::ort_availability().required) FAIL() << message;
      GTEST_SKIP() << message;
    }
    const auto known = test_support::KnownFailures::read(test_support::source_dir() / "tests" / "integration" /
                                                         "evaluator_known_failures.txt");
    const auto start = Clock::now();
    std::vector<Outcome> outcomes;
    for (const auto& test_case : cases) outcomes.push_back(run_case(test_case));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const Verdict verdict = judge(folder_, cases, outcomes, known);
    print_summary(folder_, outcomes, verdict, seconds);
    const auto floor = passing_floor().find(folder_);
    ASSERT_NE(floor, passing_floor().end()) << "no passing floor for folder '" << folder_ << "'";
    EXPECT_GE(verdict.passed, floor->second)
        << "fewer cases pass than the floor: a kernel was lost or now refuses what it ran (see the unsupported list)";
    EXPECT_TRUE(verdict.new_failures.empty())
        << verdict.new_failures.size() << " cases fail that evaluator_known_failures.txt does not list:\n"
        << indented_lines(verdict.new_failures);
    EXPECT_TRUE(verdict.fixed.empty()) << verdict.fixed.size()
                                       << " listed cases now pass: remove them from evaluator_known_failures.txt:\n"
                                       << indented_lines(verdict.fixed);
    EXPECT_TRUE(verdict.stale.empty()) << "evaluator_known_failures.txt lists cases that do not exist:\n"
                                       << indented_lines(verdict.stale);
  }

 private:
  std::string folder_;
};

// One plain test per folder, named like EvaluatorConformance.pytorch_converted.
const bool registered = [] {
  for (const auto& folder : test_support::testdata_folders()) {
    std::string identifier = folder;
    std::replace(identifier.begin(), identifier.end(), '-', '_');
    testing::RegisterTest("EvaluatorConformance", identifier.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                          [folder]() -> testing::Test* { return new EvaluatorConformance(folder); });
  }
  return true;
}();

}  // namespace
