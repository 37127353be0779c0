// evaluator_bench: float32 inference time of the CPU evaluator against ONNX Runtime
// (onnxruntime-node, same intra-op thread count), and of the evaluator on the float16-converted
// model, on a ResNet-50-shaped CNN (224x224, batch 1), a MobileNetV3-large-shaped one (depthwise
// convolutions, squeeze-excitation, hardswish; 224x224), a dynamically quantized U2-Net-shaped
// segmentation model (DynamicQuantizeLinear + ConvInteger, 320x320), a BERT-base-shaped encoder
// (12 layers, hidden 768, sequence 128, batch 1) and the same encoder with its weight products
// dynamically quantized (DynamicQuantizeLinear + MatMulInteger), all with random weights. Goals: the evaluator's float32
// time within 2x of ORT's, its float16 time within 3x of ORT's float32 time (float16 pays a
// conversion on every read and write, and ORT's float32 is the speed users compare with).
//
// Each model is generated and saved to a scratch folder (ORT reads the file), converted with
// convert_float_to_float16 (keep_io_types, so both precisions take the same feeds), and timed:
// the evaluator in this process (load once, warm-up runs, then the median of --runs), ORT in a
// child `node bench/ort_time.js` that does the same. A measurement, not a test: missed goals
// still exit 0; failures (a model that does not load or run) exit 1.
//
//   evaluator_bench [--quick] [--models resnet50,mobilenet-v3,quantized-unet,bert-base,bert-base-quantized] [--threads 1,2] [--runs N] [--warmup N]
//                   [--sequence N] [--no-float16] [--work-dir DIR] [--keep] [--ort-script PATH]
//                   [--model-file MODEL.onnx@INPUT.npz ...]
//
// --model-file adds a model of your own (a real exported or trained one) with its input: the
// generated models have random weights and regular shapes, real ones show what they do not
// (depthwise convolutions, quantized ops, detection heads). --models '' times only those.
// Besides the warm median, each row shows the evaluator's first run after loading (what
// `onnx-fp16 run` pays) and its ratio to a warm run, and the same ratio for ORT's session: on a
// machine where fresh memory is slow to fault in, both runtimes' first runs pay it.
#include <CLI/CLI.hpp>
#include <cblas.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "modelgen/mobilenet_model.h"
#include "modelgen/quantize_dynamic.h"
#include "modelgen/quantized_unet_model.h"
#include "modelgen/resnet_model.h"
#include "modelgen/transformer_model.h"
#include "runtime/kernels/avx512.h"
#include "support/ort_timer.h"
#include "support/table.h"
#include "support/units.h"
#include "support/work_folder.h"

namespace {

using onnx_fp16::Tensor;
using Feeds = std::map<std::string, Tensor>;

constexpr double kFloat32Goal = 2.0;  // evaluator float32 / ORT float32
constexpr double kFloat16Goal = 3.0;  // evaluator float16 / ORT float32
constexpr double kFirstRunGoal = 1.3;  // evaluator's first run / its warm run

struct Options {
  bool quick = false;
  std::vector<std::string> models{"resnet50", "mobilenet-v3", "quantized-unet", "bert-base", "bert-base-quantized"};
  std::vector<int> threads{1, 2};
  int runs = 0;  // 0: 5, or 2 with --quick
  int warmup = 1;
  int sequence = 128;
  bool float16 = true;
  std::string work_dir;
  bool keep = false;
  // The script sits beside this file; __FILE__ is absolute in CMake builds.
  std::string ort_script = (std::filesystem::path(__FILE__).parent_path() / "ort_time.js").string();
  std::vector<std::string> model_files;  // MODEL.onnx@INPUT.npz
};

struct BenchModel {
  std::string name;
  onnx::ModelProto model;
  Feeds feeds;
};

void progress(const std::string& message) { std::cerr << ".. " << message << std::endl; }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::vector<float> uniform(std::size_t count, float low, float high, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> values(count);
  for (auto& v : values) v = dist(gen);
  return values;
}

// --quick shrinks the models (64x64 images; 2 layers, sequence 32) to check the harness fast.
BenchModel make_model(const std::string& name, const Options& options) {
  // The CNNs: 224x224 (64x64 with --quick), one image of uniform values.
  const int image_size = options.quick ? 64 : 224;
  auto image = [&] {
    return Feeds{{"image", Tensor::from_vector<float>({1, 3, image_size, image_size},
                                                      uniform(3 * image_size * image_size, -1, 1, 5))}};
  };
  if (name == "resnet50") return {name, modelgen::resnet50_model({.image_size = image_size}), image()};
  if (name == "mobilenet-v3") return {name, modelgen::mobilenet_v3_large_model({.image_size = image_size}), image()};
  if (name == "quantized-unet") {
    // At its own default size (320; 64 with --quick), as background-removal models run.
    const int unet_size = options.quick ? 64 : modelgen::QuantizedUNetSpec{}.image_size;
    return {name, modelgen::quantized_unet_model({.image_size = unet_size}),
            {{"image", Tensor::from_vector<float>({1, 3, unet_size, unet_size}, uniform(3 * unet_size * unet_size, -1, 1, 5))}}};
  }
  if (name == "bert-base" || name == "bert-base-quantized") {
    modelgen::TransformerSpec spec = modelgen::bert_base_spec();
    if (options.quick) spec.layers = 2;
    const std::int64_t sequence = options.quick ? 32 : options.sequence;
    std::mt19937 gen(7);
    std::uniform_int_distribution<std::int64_t> token(0, spec.vocab_size - 1);
    std::vector<std::int64_t> ids(sequence);
    for (auto& id : ids) id = token(gen);
    onnx::ModelProto model = modelgen::transformer_model(spec);
    if (name == "bert-base-quantized") modelgen::quantize_dynamic_matmuls(model);
    return {name, std::move(model),
            {{"input_ids", Tensor::from_vector<std::int64_t>({1, sequence}, ids)},
             {"attention_mask", Tensor::from_vector<std::int64_t>({1, sequence}, std::vector<std::int64_t>(sequence, 1))}}};
  }
  throw std::runtime_error("unknown model '" + name +
                           "' (resnet50, mobilenet-v3, quantized-unet, bert-base, bert-base-quantized)");
}

// A model file and its input (--model-file MODEL.onnx@INPUT.npz), named after the file.
BenchModel model_from_file(const std::string& spec) {
  const auto at = spec.rfind('@');
  if (at == std::string::npos) throw std::runtime_error("--model-file wants MODEL.onnx@INPUT.npz, got '" + spec + "'");
  const std::filesystem::path model_path = spec.substr(0, at);
  return {model_path.stem().string(), onnx_fp16::load_model(model_path), onnx_fp16::read_tensors(spec.substr(at + 1))};
}

struct EvaluatorTimes {
  double first = 0;   // the first run of a fresh evaluator
  double median = 0;  // of the timed warm runs
};

// The evaluator on `model` with `threads` threads: its first run, then the median of warm runs.
EvaluatorTimes time_evaluator(const onnx::ModelProto& model, const Feeds& feeds, int threads, const Options& options) {
  const onnx_fp16::Evaluator evaluator(model, {.threads = threads, .keep = {}});
  EvaluatorTimes result;
  auto start = std::chrono::steady_clock::now();
  evaluator.run(feeds);
  result.first = seconds_since(start);
  for (int i = 1; i < options.warmup; ++i) evaluator.run(feeds);
  std::vector<double> times;
  for (int i = 0; i < options.runs; ++i) {
    start = std::chrono::steady_clock::now();
    evaluator.run(feeds);
    times.push_back(seconds_since(start));
  }
  result.median = median(times);
  return result;
}

std::string ratio_cell(double ours, double ort, double goal) {
  if (ort <= 0 || ours <= 0) return "-";
  const double ratio = ours / ort;
  return bench::format_ratio(ratio) + (ratio <= goal ? " (met)" : " (missed)");
}

int run_bench(const Options& options) {
  bench::WorkFolder work(options.work_dir, options.keep);
  bench::Table table({"model", "threads", "ORT float32", "evaluator float32", "float32 ratio (goal <= 2x)",
                      "first run", "first/warm (goal <= 1.3x)", "ORT first/warm", "evaluator float16", "float16 ratio (goal <= 3x)"});
  std::string ort_version;
  bool failed = false;
  std::vector<std::string> names = options.models;
  names.insert(names.end(), options.model_files.begin(), options.model_files.end());
  for (std::size_t index = 0; index < names.size(); ++index) {
    const bool from_file = index >= options.models.size();
    progress((from_file ? "loading " : "generating ") + names[index]);
    BenchModel bench_model = from_file ? model_from_file(names[index]) : make_model(names[index], options);
    const std::string name = bench_model.name;
    const auto model_path = work.path() / (name + ".onnx");
    onnx_fp16::save_model(bench_model.model, model_path);
    const auto feeds_json = bench::write_ort_feeds(work.folder(name + "_feeds"), bench_model.feeds);
    std::optional<onnx::ModelProto> converted;
    if (options.float16) {
      converted = bench_model.model;
      onnx_fp16::Float16Options convert_options;
      convert_options.keep_io_types = true;
      onnx_fp16::convert_float_to_float16(*converted, convert_options);
    }
    for (int threads : options.threads) {
      progress(name + ", " + std::to_string(threads) + " thread(s): ORT");
      const auto ort = bench::time_in_ort(options.ort_script, model_path, feeds_json, threads, options.runs,
                                          options.warmup, work.path() / (name + "_ort.log"));
      if (!ort.ok()) {
        std::cerr << "ORT failed on " << name << ": " << ort.error << "\n";
        failed = true;
      } else {
        ort_version = ort.ort_version;
      }
      EvaluatorTimes ours32, ours16;
      try {
        progress(name + ", " + std::to_string(threads) + " thread(s): evaluator float32");
        ours32 = time_evaluator(bench_model.model, bench_model.feeds, threads, options);
        if (converted) {
          progress(name + ", " + std::to_string(threads) + " thread(s): evaluator float16");
          ours16 = time_evaluator(*converted, bench_model.feeds, threads, options);
        }
      } catch (const std::exception& e) {
        std::cerr << "the evaluator failed on " << name << ": " << e.what() << "\n";
        failed = true;
      }
      const double ort_seconds = ort.ok() ? ort.median_seconds : 0;
      table.add_row({name, std::to_string(threads), ort.ok() ? bench::format_seconds(ort_seconds) : "failed",
                     ours32.median > 0 ? bench::format_seconds(ours32.median) : "failed",
                     ratio_cell(ours32.median, ort_seconds, kFloat32Goal),
                     ours32.first > 0 ? bench::format_seconds(ours32.first) : "-",
                     ratio_cell(ours32.first, ours32.median, kFirstRunGoal),
                     ort.ok() && ort.first_seconds > 0 ? bench::format_ratio(ort.first_seconds / ort_seconds) : "-",
                     ours16.median > 0 ? bench::format_seconds(ours16.median) : "-",
                     ratio_cell(ours16.median, ort_seconds, kFloat16Goal)});
    }
  }
  std::cout << "\nEvaluator vs ONNX Runtime " << (ort_version.empty() ? "" : ort_version + " ")
            << "(CPU, median of " << options.runs << " runs after " << options.warmup << " warm-up"
            << (options.quick ? "; --quick: reduced models" : "") << ")\n";
  table.print(std::cout);
  // The matrix-product kernels decide most of the evaluator's time on CNNs and transformers: on
  // an AVX-512 machine whose environment sets OPENBLAS_CORETYPE=Haswell, ResNet-50 on one thread
  // took 118 ms with OpenBLAS's kernels against 74 ms with the AVX-512 kernels OpenBLAS picks by
  // itself. The evaluator's own AVX-512 product (runtime/kernels/avx512.h) takes OpenBLAS's place
  // for float32 matrix-matrix products where the CPU has AVX-512.
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  std::cout << "float32 matrix products: "
            << (onnx_fp16::runtime::nn::cpu_has_avx512f() ? "own AVX-512 kernel; matrix-vector products: " : "")
            << "OpenBLAS " << openblas_get_corename()
            << (forced != nullptr ? std::string(" (OPENBLAS_CORETYPE=") + forced + " in the environment)" : std::string())
            << "\n";
  std::cout << "Goals: evaluator float32 within " << kFloat32Goal << "x of ORT float32; its first run within "
            << kFirstRunGoal << "x of a warm one; evaluator float16 within " << kFloat16Goal << "x of ORT float32.\n";
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times the CPU evaluator against ONNX Runtime on ResNet-50- and BERT-base-shaped models"};
  Options options;
  app.add_flag("--quick", options.quick, "Reduced models and 2 runs: a fast check of the harness");
  app.add_option("--models", options.models,
                 "Models to time: resnet50, mobilenet-v3, quantized-unet, bert-base, bert-base-quantized")
      ->delimiter(',');
  app.add_option("--threads", options.threads, "Thread counts (the evaluator's and ORT's intra-op threads)")->delimiter(',');
  app.add_option("--runs", options.runs, "Timed runs per measurement (median reported)");
  app.add_option("--warmup", options.warmup, "Untimed runs before timing")->capture_default_str();
  app.add_option("--sequence", options.sequence, "BERT sequence length")->capture_default_str();
  bool no_float16 = false;
  app.add_flag("--no-float16", no_float16, "Skip the float16 evaluator runs");
  app.add_option("--work-dir", options.work_dir, "Where to write the generated models");
  app.add_flag("--keep", options.keep, "Keep the generated models");
  app.add_option("--ort-script", options.ort_script, "Path of ort_time.js")->capture_default_str();
  app.add_option("--model-file", options.model_files, "A model of your own and its input: MODEL.onnx@INPUT.npz");
  try {
    app.parse(argc, argv);
    // `--models ''` (only the --model-file models) arrives as one empty name.
    std::erase(options.models, std::string());
    options.float16 = !no_float16;
    if (options.runs <= 0) options.runs = options.quick ? 2 : 5;
    return run_bench(options);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "evaluator_bench: " << e.what() << "\n";
    return 1;
  }
}
