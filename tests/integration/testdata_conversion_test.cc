// The float16 conversion over ONNX's backend test cases (Debian's libonnx-testdata), checked
// by running the converted models in ONNX Runtime against the cases' expected outputs.
//
// One test per (folder, mode) loops over all the folder's cases with one ORT server: ctest runs
// every test in its own process, and a test per case would start node a thousand times.
// Modes: "float32" runs the original models as they are (but see upgraded_for_ort) and checks
// the harness itself: its failures are ORT's limitations. "default" and "keep_io_types"
// convert first; they need not list again a case that ORT cannot run as float32, as long as
// its conversion and check succeed.
//
// Failing cases must be listed in known_failures.txt, and a listed case that passes must be
// removed, so the list only shrinks. ONNX_FP16_UPDATE_KNOWN_FAILURES=1 prints the lines for
// the current failures.
#include <gtest/gtest.h>
#include <onnx_fp16/onnx_fp16.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include "half/half.h"
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

enum class Mode { Float32AsIs, Default, KeepIoTypes };

std::string mode_name(Mode mode) {
  switch (mode) {
    case Mode::Float32AsIs: return "float32";
    case Mode::Default: return "default";
    case Mode::KeepIoTypes: return "keep_io_types";
  }
  return "?";
}

// float32: ONNX's own backend test runner compares with rtol=1e-3, atol=1e-7. The scale term
// (1e-6 of the tensor's largest magnitude, about eight float32 steps there) admits the
// rounding of transforms like DFT/STFT, whose near-zero outputs carry errors of the size of
// the largest coefficients.
// float16: its unit roundoff is 2^-11 (about 4.9e-4) and every converted op rounds its result,
// so rtol=1e-2 leaves room for about twenty roundings along a path; atol=1e-2 covers results
// near 0 that come from cancelling operands of order 1. The scale term (2e-3 of the tensor's
// largest magnitude, about two float16 steps there) covers the same cancellation in tensors of
// larger magnitude, where the absolute error follows the operands, not the small result.
test_support::Tolerance tolerance_for(Mode mode) {
  if (mode == Mode::Float32AsIs) return {.rtol = 1e-3, .atol = 1e-7, .scale = 1e-6};
  return {.rtol = 1e-2, .atol = 1e-2, .scale = 2e-3};
}

// A failed step of a case; its message says which step.
struct CaseFailure : std::runtime_error {
  CaseFailure(const std::string& step, const std::string& message)
      : std::runtime_error(step + ": " + message), step(step) {}
  std::string step;
};

// The steps that produce the converted model, as opposed to the ones that run it.
bool is_conversion_step(const std::string& step) {
  return step == "load" || step == "convert" || step == "check" || step == "save";
}

template <typename Step>
auto step(const std::string& name, Step&& body) {
  try {
    return body();
  } catch (const CaseFailure&) {
    throw;
  } catch (const std::exception& e) {
    throw CaseFailure(name, e.what());
  }
}

// The graph inputs that the caller feeds: the ones without an initializer (old IR versions
// list initializers as inputs too).
std::vector<const onnx::ValueInfoProto*> fed_inputs(const onnx::GraphProto& graph) {
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& input : graph.input()) {
    const bool has_initializer = std::any_of(graph.initializer().begin(), graph.initializer().end(),
                                             [&](const auto& init) { return init.name() == input.name(); });
    if (!has_initializer) inputs.push_back(&input);
  }
  return inputs;
}

onnx::TensorProto floats_to_float16_tensor(const onnx::TensorProto& tensor) {
  const std::string bytes = test_support::raw_bytes(tensor);
  std::vector<float> floats(bytes.size() / sizeof(float));
  if (!bytes.empty()) std::memcpy(floats.data(), bytes.data(), bytes.size());  // an empty tensor has no data pointer
  std::vector<std::uint16_t> halves(floats.size());
  onnx_fp16::half::floats_to_halves(floats, halves);
  std::string half_bytes(halves.size() * sizeof(std::uint16_t), '\0');
  if (!halves.empty()) std::memcpy(half_bytes.data(), halves.data(), half_bytes.size());
  return test_support::make_raw_tensor(tensor.name(), onnx::TensorProto::FLOAT16,
                                       {tensor.dims().begin(), tensor.dims().end()}, std::move(half_bytes));
}

// The sample's inputs, named and typed as `graph` takes them.
std::vector<onnx::TensorProto> feeds_for(const onnx::GraphProto& graph, std::vector<onnx::TensorProto> samples) {
  const auto inputs = fed_inputs(graph);
  if (samples.size() > inputs.size()) {
    throw std::runtime_error(std::to_string(samples.size()) + " input files for " + std::to_string(inputs.size()) + " graph inputs");
  }
  for (std::size_t k = 0; k < samples.size(); ++k) {
    const auto& input = *inputs[k];
    if (!input.type().has_tensor_type()) {
      throw std::runtime_error("input '" + input.name() + "' is not a tensor (sequence/optional/map inputs are not supported)");
    }
    samples[k].set_name(input.name());
    if (input.type().tensor_type().elem_type() == onnx::TensorProto::FLOAT16 &&
        samples[k].data_type() == onnx::TensorProto::FLOAT) {
      samples[k] = floats_to_float16_tensor(samples[k]);
    }
  }
  return samples;
}

// ONNX Runtime no longer has kernels for the opset-6 versions of ops that opset 7 changed
// (Add, Mul, Gemm, BatchNormalization, PRelu, ...: opset 7 brought numpy broadcasting), and
// most pytorch-* cases are opset 6. ONNX's version converter upgrades them to opset 7, which
// ORT runs; the conversion then works on the upgraded model (which also carries the
// value_info that shape inference added for the converter).
constexpr std::int64_t kOldestOpsetOrtRuns = 7;

bool needs_upgrade_for_ort(const onnx::ModelProto& model) {
  for (const auto& opset : model.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") return opset.version() < kOldestOpsetOrtRuns;
  }
  return false;  // no ai.onnx ops at all
}

// The model upgraded to an opset ORT runs, or unchanged when it needs no upgrade.
onnx::ModelProto upgraded_for_ort(onnx::ModelProto model) {
  if (!needs_upgrade_for_ort(model)) return model;
  // The converter's adapters need the shapes of what they rewrite.
  onnx::shape_inference::InferShapes(model);
  return onnx::version_conversion::ConvertVersion(model, kOldestOpsetOrtRuns);
}

void write_model_file(const onnx::ModelProto& model, const fs::path& path) {
  std::ofstream out(path, std::ios::binary);
  if (!model.SerializeToOstream(&out) || !out.flush()) throw std::runtime_error("cannot write " + path.string());
}

class CaseRunner {
 public:
  CaseRunner(Mode mode, test_support::OrtClient& ort, fs::path work_dir)
      : mode_(mode), ort_(ort), work_dir_(std::move(work_dir)) {}

  // Throws CaseFailure when the case fails.
  void run(const TestDataCase& test_case) const {
    if (test_case.data_sets.empty()) throw CaseFailure("read", "no test_data_set folder");
    auto sample = step("read", [&] { return test_support::read_test_data_set(test_case.data_sets.front()); });
    auto [model, model_path] = prepared_model(test_case);
    const auto feeds = step("inputs", [&] { return feeds_for(model.graph(), std::move(sample.inputs)); });
    const auto result = ort_.run(model_path, feeds);
    if (!result.ok()) throw CaseFailure("ort", result.error);
    if (result.outputs.size() < sample.outputs.size()) {
      throw CaseFailure("outputs", std::to_string(result.outputs.size()) + " outputs, expected " +
                                       std::to_string(sample.outputs.size()));
    }
    for (std::size_t k = 0; k < sample.outputs.size(); ++k) check_output(result.outputs[k], sample.outputs[k]);
  }

 private:
  // The model to run and where it is: the original file, or the converted model saved.
  std::pair<onnx::ModelProto, fs::path> prepared_model(const TestDataCase& test_case) const {
    const fs::path path = work_dir_ / (test_case.name + ".onnx");
    if (mode_ == Mode::Float32AsIs) {
      auto original = step("read", [&] { return test_support::read_model_file(test_case.model()); });
      if (!needs_upgrade_for_ort(original)) return {std::move(original), test_case.model()};
      auto upgraded = step("upgrade", [&] { return upgraded_for_ort(std::move(original)); });
      step("upgrade", [&] { write_model_file(upgraded, path); });
      return {std::move(upgraded), path};
    }
    auto model = step("load", [&] { return onnx_fp16::load_model(test_case.model()); });
    model = step("upgrade", [&] { return upgraded_for_ort(std::move(model)); });
    const onnx::ModelProto original = model;
    onnx_fp16::Float16Options options;
    options.keep_io_types = mode_ == Mode::KeepIoTypes;
    // Some cases hold float16 already (Cast tests, *_float16 ops). The converter refuses those by
    // default, as the original does (unit-tested); here they show that the float16 parts are
    // left alone and the float32 parts still convert.
    options.force = true;
    step("convert", [&] { return onnx_fp16::convert_float_to_float16(model, options); });
    step("check", [&] { check_converted(model, original); });
    step("save", [&] { onnx_fp16::save_model(model, path); });
    return {std::move(model), path};
  }

  // Some test models break the checker's rules already (int64 Constants at opset 6, ...);
  // saying so tells a conversion bug from a faithful copy of an invalid model.
  static void check_converted(const onnx::ModelProto& converted, const onnx::ModelProto& original) {
    try {
      onnx_fp16::check_model_full(converted);
    } catch (const std::exception& e) {
      bool original_valid = true;
      try {
        onnx_fp16::check_model_full(original);
      } catch (const std::exception&) {
        original_valid = false;
      }
      throw std::runtime_error(std::string(e.what()) + (original_valid ? "" : " (the original model fails the check too)"));
    }
  }

  void check_output(const onnx::TensorProto& actual, const onnx::TensorProto& expected) const {
    // Without keep_io_types a float output becomes float16; its values are what we compare.
    const bool widen = mode_ == Mode::Default && actual.data_type() == onnx::TensorProto::FLOAT16 &&
                       expected.data_type() == onnx::TensorProto::FLOAT;
    const auto comparison =
        test_support::compare(widen ? test_support::float16_to_float(actual) : actual, expected, tolerance_for(mode_));
    if (!comparison.match) throw CaseFailure("output '" + actual.name() + "'", comparison.message);
  }

  Mode mode_;
  test_support::OrtClient& ort_;
  fs::path work_dir_;
};

struct Outcome {
  std::string case_id;
  std::string error;  // empty when the case passed
  bool conversion_failed = false;  // the error came from producing the converted model
  double seconds = 0;
};

using test_support::env_flag;

std::vector<Outcome> run_all(const std::vector<TestDataCase>& cases, const CaseRunner& runner) {
  std::vector<Outcome> outcomes;
  for (const auto& test_case : cases) {
    const auto start = Clock::now();
    Outcome outcome{test_case.id(), "", false, 0};
    try {
      runner.run(test_case);
    } catch (const CaseFailure& e) {
      outcome.error = e.what();
      outcome.conversion_failed = is_conversion_step(e.step);
    } catch (const std::exception& e) {
      outcome.error = e.what();
    }
    outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    outcomes.push_back(std::move(outcome));
  }
  return outcomes;
}

// The outcomes held against known_failures.txt.
struct Verdict {
  std::size_t passed = 0;
  std::size_t known = 0;    // failed as listed
  std::size_t excused = 0;  // failed in ORT, which cannot run the original either
  std::vector<std::string> new_failures;  // "<case>: <error>"
  std::vector<std::string> fixed;         // listed but passing
  std::vector<std::string> stale;         // listed but not a case
  std::vector<std::string> update_lines;  // known_failures.txt lines for every failure
};

// A conversion mode need not list a case that already fails as float32 (ORT cannot run it
// at all) as long as the conversion itself went through: load, convert, check and save are
// judged for every case, the run in ORT only where the original runs.
bool excused_by_float32(Mode mode, const Outcome& outcome, const test_support::KnownFailures& known) {
  return mode != Mode::Float32AsIs && !outcome.conversion_failed &&
         known.find(mode_name(Mode::Float32AsIs), outcome.case_id) != nullptr;
}

Verdict judge(const std::string& folder, Mode mode, const std::vector<TestDataCase>& cases,
              const std::vector<Outcome>& outcomes, const test_support::KnownFailures& known) {
  const std::string name = mode_name(mode);
  Verdict verdict;
  for (const auto& outcome : outcomes) {
    const auto* entry = known.find(name, outcome.case_id);
    if (outcome.error.empty()) {
      ++verdict.passed;
      if (entry != nullptr && !entry->unstable()) {
        verdict.fixed.push_back(outcome.case_id + " (line " + std::to_string(entry->line) + ")");
      }
      continue;
    }
    if (entry != nullptr) {
      ++verdict.known;
    } else if (excused_by_float32(mode, outcome, known)) {
      ++verdict.excused;
      continue;  // nothing to list
    } else {
      verdict.new_failures.push_back(outcome.case_id + ": " + outcome.error);
    }
    verdict.update_lines.push_back(test_support::known_failure_line(name, outcome.case_id, outcome.error));
  }
  std::vector<std::string> case_ids;
  for (const auto& c : cases) case_ids.push_back(c.id());
  verdict.stale = test_support::stale_entries(known, name, folder, case_ids);
  return verdict;
}

using test_support::indented_lines;

void print_summary(const std::string& folder, Mode mode, const std::vector<Outcome>& outcomes, const Verdict& verdict,
                   double seconds) {
  auto slowest = outcomes;
  std::sort(slowest.begin(), slowest.end(), [](const Outcome& a, const Outcome& b) { return a.seconds > b.seconds; });
  std::cout << std::fixed << std::setprecision(1) << folder << " [" << mode_name(mode) << "]: " << verdict.passed << "/"
            << outcomes.size() << " passed (" << (outcomes.empty() ? 0.0 : 100.0 * verdict.passed / outcomes.size())
            << "%), " << verdict.known << " known failures, " << verdict.excused << " not runnable as float32, "
            << verdict.new_failures.size() << " new failures; " << seconds << " s; slowest:";
  for (std::size_t i = 0; i < std::min<std::size_t>(3, slowest.size()); ++i) {
    std::cout << " " << slowest[i].case_id << " " << std::setprecision(2) << slowest[i].seconds << " s";
  }
  std::cout << "\n";
  if (env_flag("ONNX_FP16_UPDATE_KNOWN_FAILURES")) {
    std::cout << "# known_failures.txt lines for the failures of " << mode_name(mode) << " " << folder << ":\n";
    for (const auto& line : verdict.update_lines) std::cout << line << "\n";
  }
}

void expect_no_surprises(const Verdict& verdict) {
  EXPECT_TRUE(verdict.new_failures.empty()) << verdict.new_failures.size()
                                            << " cases fail that known_failures.txt does not list:\n"
                                            << indented_lines(verdict.new_failures);
  EXPECT_TRUE(verdict.fixed.empty()) << verdict.fixed.size()
                                     << " listed cases now pass: remove them from known_failures.txt:\n"
                                     << indented_lines(verdict.fixed);
  EXPECT_TRUE(verdict.stale.empty()) << "known_failures.txt lists cases that do not exist:\n"
                                     << indented_lines(verdict.stale);
}

class TestdataConversion : public testing::Test {
 public:
  TestdataConversion(std::string folder, Mode mode) : folder_(std::move(folder)), mode_(mode) {}

  void TestBody() override {
    ONNX_FP16_REQUIRE_ORT_OR_SKIP();
    const auto cases = test_support::list_testdata_cases(folder_);
    if (cases.empty()) {
      const std::string message = "no test cases in " + (test_support::testdata_root() / folder_).string() +
                                  " (apt install libonnx-testdata)";
      if (test_support::ort_availability().required) FAIL() << message;
      GTEST_SKIP() << message;
    }
    const auto known =
        test_support::KnownFailures::read(test_support::source_dir() / "tests" / "integration" / "known_failures.txt");
    const fs::path work_dir = test_support::fresh_temp_dir(folder_ + "_" + mode_name(mode_));
    const auto start = Clock::now();
    const auto outcomes = run_all(cases, CaseRunner(mode_, test_support::OrtClient::shared(), work_dir));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    fs::remove_all(work_dir);
    const Verdict verdict = judge(folder_, mode_, cases, outcomes, known);
    print_summary(folder_, mode_, outcomes, verdict, seconds);
    expect_no_surprises(verdict);
  }

 private:
  std::string folder_;
  Mode mode_;
};

// Plain tests registered at start-up, one per (folder, mode), named like
// TestdataConversion.node_float32: value-parameterised tests would carry their parameter
// values into ctest's test names.
const bool registered = [] {
  for (const auto mode : {Mode::Float32AsIs, Mode::Default, Mode::KeepIoTypes}) {
    for (const auto& folder : test_support::testdata_folders()) {
      std::string identifier = folder;
      std::replace(identifier.begin(), identifier.end(), '-', '_');
      testing::RegisterTest("TestdataConversion", (identifier + "_" + mode_name(mode)).c_str(), nullptr, nullptr,
                            __FILE__, __LINE__, [folder, mode]() -> testing::Test* { return new TestdataConversion(folder, mode); });
    }
  }
  return true;
}();

}  // namespace
