// Automatic mixed precision over ONNX's backend test cases (Debian's libonnx-testdata): every
// case the evaluator can run is searched with its test data sets as samples (keep_io_types,
// rtol 1e-2, atol 1e-3). The search must end in a model that passes the tolerance (checked by
// the library itself on the real converted model), that ONNX's checker accepts where it accepts
// the original, and that ONNX Runtime loads where it loads the original. The only refusal
// allowed are a float32 model that fails its own validation (NaN outputs, which are never close)
// and a model that already holds float16 (as the original refuses it).
#include <gtest/gtest.h>
#include <onnx_fp16/onnx_fp16.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>

#include "support/ort_client.h"
#include "support/paths.h"
#include "support/testdata.h"

namespace {

namespace fs = std::filesystem;
using test_support::TestDataCase;

std::vector<onnx_fp16::Feeds> samples_of(const TestDataCase& test_case, const onnx::ModelProto& model) {
  const std::vector<std::string> names = test_support::fed_input_names(model.graph());
  std::vector<onnx_fp16::Feeds> samples;
  for (const auto& set : test_case.data_sets) {
    const auto data = test_support::read_test_data_set(set);
    onnx_fp16::Feeds feeds;
    for (std::size_t i = 0; i < data.inputs.size(); ++i) {
      const std::string name = data.inputs[i].name().empty() && i < names.size() ? names[i] : data.inputs[i].name();
      feeds[name] = onnx_fp16::Tensor::from_proto(data.inputs[i]);
    }
    samples.push_back(std::move(feeds));
  }
  return samples;
}

struct Tally {
  int cases = 0, not_runnable = 0, searched = 0, refused_nan = 0, refused_float16 = 0;
  std::size_t candidates = 0, converted = 0, kept = 0;
  int attempts = 0;
  std::vector<std::string> failures;
};

void search_folder(const std::string& folder) {
  const auto cases = test_support::list_testdata_cases(folder);
  if (cases.empty()) GTEST_SKIP() << "no test data under " << test_support::testdata_root();
  const bool use_ort = test_support::ort_availability().installed;
  const fs::path scratch = test_support::fresh_temp_dir("testdata_mixed_" + folder);
  Tally tally;
  const auto start = std::chrono::steady_clock::now();
  for (const TestDataCase& test_case : cases) {
    ++tally.cases;
    onnx::ModelProto model;
    std::vector<onnx_fp16::Feeds> samples;
    try {
      model = onnx_fp16::load_model(test_case.model());
      const onnx_fp16::Evaluator runnable(model);
      samples = samples_of(test_case, model);
      for (const auto& sample : samples) runnable.run(sample);
    } catch (const std::exception&) {
      ++tally.not_runnable;  // an operator or input the evaluator lacks: its own suite counts those
      continue;
    }
    const onnx::ModelProto original = model;
    onnx_fp16::MixedOptions options;
    options.rtol = 1e-2;
    options.atol = 1e-3;
    options.keep_io_types = true;
    options.threads = 1;
    try {
      const onnx_fp16::MixedReport report = onnx_fp16::auto_convert_mixed_precision(model, samples, options);
      ++tally.searched;
      tally.candidates += report.candidate_nodes;
      tally.converted += report.converted_nodes;
      tally.kept += report.kept_nodes.size();
      tally.attempts += report.attempts;
    } catch (const onnx_fp16::Error& e) {
      const std::string message = e.what();
      if (message.find("does not pass its own validation") != std::string::npos) {
        ++tally.refused_nan;
      } else if (message.find("already holds float16") != std::string::npos) {
        ++tally.refused_float16;  // as the original refuses them
      } else {
        tally.failures.push_back(test_case.id() + ": " + e.what());
      }
      continue;
    }
    // The checker accepts the result where it accepts the original.
    bool original_checks = true;
    try {
      onnx_fp16::check_model_full(original);
    } catch (const onnx_fp16::Error&) {
      original_checks = false;
    }
    if (original_checks) {
      try {
        onnx_fp16::check_model_full(model);
      } catch (const onnx_fp16::Error& e) {
        tally.failures.push_back(test_case.id() + ": the result fails the checker: " + e.what());
      }
    }
    // ONNX Runtime's CPU provider wraps float16 nodes in Casts of its own, written with Cast-6's
    // int attribute, which an opset 1-5 model rejects ("InsertedPrecisionFreeCast_...: Mismatched
    // attribute type"): it cannot load any such model with float16 nodes. The checker judges those.
    int default_opset = 0;
    for (const auto& op : original.opset_import()) {
      if (op.domain().empty() || op.domain() == "ai.onnx") default_opset = static_cast<int>(op.version());
    }
    if (use_ort && default_opset >= 6) {
      const fs::path original_path = scratch / (test_case.name + ".onnx");
      const fs::path result_path = scratch / (test_case.name + "_mixed.onnx");
      onnx_fp16::save_model(original, original_path);
      onnx_fp16::save_model(model, result_path);
      auto& ort = test_support::OrtClient::shared();
      if (!ort.load(original_path)) {
        if (auto error = ort.load(result_path)) tally.failures.push_back(test_case.id() + ": ORT cannot load the result: " + *error);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "auto-mixed " << folder << ": " << tally.searched << "/" << tally.cases << " searched, "
            << tally.refused_nan << " refused (float32 outputs fail their own validation: NaN), " << tally.refused_float16
            << " refused (already float16), " << tally.not_runnable
            << " not runnable by the evaluator; " << tally.converted << "/" << tally.candidates << " nodes float16, "
            << tally.kept << " kept, " << tally.attempts << " attempts; " << seconds << " s" << std::endl;
  for (const auto& failure : tally.failures) ADD_FAILURE() << failure;
  // Cases searched today: a floor, because a case the evaluator stops running counts as "not
  // runnable", not as a failure. Raise it when more run; never lower it to make the suite pass.
  static const std::map<std::string, int> floors = {{"node", 843}, {"simple", 7},
                                                    {"pytorch-converted", 82},
                                                    {"pytorch-operator", 33}};
  EXPECT_GE(tally.searched, floors.at(folder)) << "fewer cases searched than the floor";
}

TEST(TestdataMixed, Node) { search_folder("node"); }
TEST(TestdataMixed, Simple) { search_folder("simple"); }
TEST(TestdataMixed, PytorchConverted) { search_folder("pytorch-converted"); }
TEST(TestdataMixed, PytorchOperator) { search_folder("pytorch-operator"); }

}  // namespace
