// onnx-fp16-modelgen: writes the synthetic models (the bundled example, the benchmark models).
//
//   onnx-fp16-modelgen example     OUT.onnx
//   onnx-fp16-modelgen example-input OUT.npz [--batch N] [--seed N]
//       (a sample input for the example model: what `auto-mixed` needs)
//   onnx-fp16-modelgen transformer OUT.onnx [--weight-bytes N|500MB|1GB] [--hidden N] [--layers N] [--vocab N]
//   onnx-fp16-modelgen wide        OUT.onnx --nodes N
//   onnx-fp16-modelgen resnet50    OUT.onnx [--image-size N] [--classes N]
//   onnx-fp16-modelgen mobilenet-v3 OUT.onnx [--image-size N] [--classes N]
//   onnx-fp16-modelgen quantized-unet OUT.onnx [--image-size N]
//   onnx-fp16-modelgen bert-base-quantized OUT.onnx
//   onnx-fp16-modelgen bert-base   OUT.onnx
//   onnx-fp16-modelgen quantize-dynamic IN.onnx OUT.onnx
//       (a float32 model's Convs and MatMuls with constant weights dynamically quantized, as
//       ORT's quantize_dynamic shapes them: for real trained CNNs; needs opset >= 11)
//   onnx-fp16-modelgen gpt         OUT.onnx [--hidden N] [--layers N] [--vocab N]
//   onnx-fp16-modelgen external-chain OUT.onnx [--weight-bytes N|8GB|30GB] [--width N] [--external-data FILE]
//       (a MatMul chain whose weights are written to external data as generated: models larger
//       than memory)
//   onnx-fp16-modelgen sensitive   OUT.onnx --model resnet|bert|gpt
//       (the mixed-precision benchmark's models with a planted sensitive region; prints the
//       nodes that must stay float32)
//
// Every subcommand takes --external-data FILE to store the tensors in FILE beside the model;
// without it, save_model switches to external data by itself above protobuf's 2 GB limit.
#include <CLI/CLI.hpp>
#include <onnx_fp16/error.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor_io.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>

#include "modelgen/example_model.h"
#include "modelgen/external_chain_model.h"
#include "modelgen/gpt_model.h"
#include "modelgen/mobilenet_model.h"
#include "modelgen/quantize_dynamic.h"
#include "modelgen/quantized_unet_model.h"
#include "modelgen/resnet_model.h"
#include "modelgen/sensitive_models.h"
#include "modelgen/transformer_model.h"
#include "modelgen/wide_graph_model.h"

namespace {

struct OutputOptions {
  std::string path;
  std::string external_data;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Builds, saves and reports one model: what was written and how long each step took.
void generate(const OutputOptions& output, const std::function<onnx::ModelProto()>& build) {
  const auto build_start = std::chrono::steady_clock::now();
  const onnx::ModelProto model = build();
  const double build_seconds = seconds_since(build_start);

  onnx_fp16::SaveOptions save_options;
  if (!output.external_data.empty()) save_options.external_data_file = output.external_data;
  const auto save_start = std::chrono::steady_clock::now();
  onnx_fp16::save_model(model, output.path, save_options);
  const double save_seconds = seconds_since(save_start);

  std::printf("%s: %d nodes, %d initializers, %llu bytes of weights; built in %.2f s, saved in %.2f s\n",
              output.path.c_str(), model.graph().node_size(), model.graph().initializer_size(),
              static_cast<unsigned long long>(onnx_fp16::initializer_bytes(model)), build_seconds, save_seconds);
}

CLI::App* add_model_command(CLI::App& app, const std::string& name, const std::string& description,
                            OutputOptions& output) {
  auto* command = app.add_subcommand(name, description);
  command->add_option("output", output.path, "Where to write the model (.onnx)")->required();
  command->add_option("--external-data", output.external_data,
                      "Store tensors in this file (a name beside the model) instead of inside it");
  return command;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes synthetic ONNX models: the bundled example and the benchmark models"};
  app.require_subcommand(1);
  OutputOptions output;

  add_model_command(app, "example", "The small mixed model the README converts", output)
      ->callback([&] { generate(output, [] { return modelgen::example_model(); }); });

  std::string input_path;
  int batch = 2;
  unsigned seed = 1;
  auto* example_input = app.add_subcommand("example-input", "A sample input for the example model (image, normal values)");
  example_input->add_option("output", input_path, "Where to write it (.npz)")->required();
  example_input->add_option("--batch", batch, "Images")->check(CLI::PositiveNumber)->capture_default_str();
  example_input->add_option("--seed", seed, "Random seed")->capture_default_str();
  example_input->callback([&] {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> values(static_cast<std::size_t>(batch) * 3 * 32 * 32);
    for (float& v : values) v = normal(rng);
    onnx_fp16::write_npz(input_path, {{"image", onnx_fp16::Tensor::from_vector<float>({batch, 3, 32, 32}, values)}});
    std::printf("%s: image float32 [%d,3,32,32]\n", input_path.c_str(), batch);
  });

  modelgen::TransformerSpec spec;
  auto* transformer = add_model_command(app, "transformer", "A BERT-like encoder sized by its float32 weights", output);
  transformer->add_option("--weight-bytes", spec.weight_bytes, "Target bytes of float32 weights (1GB = 1e9, 1GiB = 2^30)")
      ->transform(CLI::AsSizeValue(true))
      ->capture_default_str();
  transformer->add_option("--hidden", spec.hidden_size, "Hidden size (default: chosen from --weight-bytes)");
  transformer->add_option("--layers", spec.layers, "Encoder layers (default: chosen from --weight-bytes)");
  transformer->add_option("--vocab", spec.vocab_size, "Vocabulary size (default: what the target leaves)");
  transformer->callback([&] { generate(output, [&] { return modelgen::transformer_model(spec); }); });

  int nodes = 0;
  auto* wide = add_model_command(app, "wide", "A graph of N small nodes", output);
  wide->add_option("--nodes", nodes, "Number of nodes")->required()->check(CLI::PositiveNumber);
  wide->callback([&] { generate(output, [&] { return modelgen::wide_graph_model(nodes); }); });

  modelgen::ResNetSpec resnet_spec;
  auto* resnet = add_model_command(app, "resnet50", "A ResNet-50-shaped CNN with random weights", output);
  resnet->add_option("--image-size", resnet_spec.image_size, "Input height and width")->capture_default_str();
  resnet->add_option("--classes", resnet_spec.classes, "Classifier outputs")->capture_default_str();
  resnet->callback([&] { generate(output, [&] { return modelgen::resnet50_model(resnet_spec); }); });

  modelgen::MobileNetSpec mobilenet_spec;
  auto* mobilenet = add_model_command(app, "mobilenet-v3", "A MobileNetV3-large-shaped CNN with random weights", output);
  mobilenet->add_option("--image-size", mobilenet_spec.image_size, "Input height and width")->capture_default_str();
  mobilenet->add_option("--classes", mobilenet_spec.classes, "Classifier outputs")->capture_default_str();
  mobilenet->callback([&] { generate(output, [&] { return modelgen::mobilenet_v3_large_model(mobilenet_spec); }); });

  modelgen::QuantizedUNetSpec unet_spec;
  auto* unet = add_model_command(app, "quantized-unet",
                                 "A dynamically quantized U2-Net-shaped segmentation model (ConvInteger, uint8 weights)", output);
  unet->add_option("--image-size", unet_spec.image_size, "Input height and width")->capture_default_str();
  unet->callback([&] { generate(output, [&] { return modelgen::quantized_unet_model(unet_spec); }); });

  add_model_command(app, "bert-base", "A BERT-base-shaped encoder (768 hidden, 12 layers, 12 heads)", output)
      ->callback([&] { generate(output, [] { return modelgen::transformer_model(modelgen::bert_base_spec()); }); });
  add_model_command(app, "bert-base-quantized",
                    "bert-base with every weight product dynamically quantized (DynamicQuantizeLinear + MatMulInteger)",
                    output)
      ->callback([&] {
        generate(output, [] {
          auto model = modelgen::transformer_model(modelgen::bert_base_spec());
          modelgen::quantize_dynamic_matmuls(model);
          return model;
        });
      });

  std::string quantize_input;
  auto* quantize = app.add_subcommand("quantize-dynamic",
                                      "A float32 model with its Convs and MatMuls of constant weights dynamically "
                                      "quantized (DynamicQuantizeLinear + ConvInteger / MatMulInteger, uint8 weights)");
  quantize->add_option("input", quantize_input, "The float32 model (.onnx), opset >= 11")->required();
  quantize->add_option("output", output.path, "Where to write the model (.onnx)")->required();
  quantize->add_option("--external-data", output.external_data,
                       "Store tensors in this file (a name beside the model) instead of inside it");
  quantize->callback([&] {
    generate(output, [&] {
      onnx::ModelProto model = onnx_fp16::load_model(quantize_input);
      for (const auto& opset : model.opset_import()) {
        if ((opset.domain().empty() || opset.domain() == "ai.onnx") && opset.version() < 11) {
          throw onnx_fp16::Error(quantize_input + ": opset " + std::to_string(opset.version()) +
                                 " has no DynamicQuantizeLinear (needs 11 or later)");
        }
      }
      const int convs = modelgen::quantize_dynamic_convs(model);
      const int matmuls = modelgen::quantize_dynamic_matmuls(model);
      std::printf("%s: quantized %d Convs and %d MatMuls\n", quantize_input.c_str(), convs, matmuls);
      return model;
    });
  });

  modelgen::GptSpec gpt_spec;
  auto* gpt = add_model_command(app, "gpt", "A GPT-2-shaped decoder (pre-LayerNorm, causal mask) with random weights", output);
  gpt->add_option("--hidden", gpt_spec.hidden_size, "Hidden size (a multiple of 64)")->capture_default_str();
  gpt->add_option("--layers", gpt_spec.layers, "Decoder blocks")->capture_default_str();
  gpt->add_option("--vocab", gpt_spec.vocab_size, "Vocabulary size")->capture_default_str();
  gpt->callback([&] { generate(output, [&] { return modelgen::gpt_model(gpt_spec); }); });

  modelgen::ExternalChainSpec chain_spec;
  auto* chain = add_model_command(app, "external-chain", "A MatMul chain with its weights written straight to external data", output);
  chain->add_option("--weight-bytes", chain_spec.weight_bytes, "Bytes of float32 weights (rounded up to whole layers)")
      ->transform(CLI::AsSizeValue(true))
      ->capture_default_str();
  chain->add_option("--width", chain_spec.width, "Width of each square weight")->check(CLI::Range(1, 65536))->capture_default_str();
  chain->callback([&] {
    const auto start = std::chrono::steady_clock::now();
    const std::string data_name = output.external_data.empty() ? std::filesystem::path(output.path).filename().string() + ".data"
                                                               : output.external_data;
    const modelgen::ExternalChainModel written = modelgen::write_external_chain_model(output.path, data_name, chain_spec);
    std::printf("%s: %d MatMul layers, %llu bytes of weights in %s; written in %.2f s\n", output.path.c_str(),
                written.layers, static_cast<unsigned long long>(written.weight_bytes), data_name.c_str(), seconds_since(start));
  });

  // The models of bench/mixed_bench.cc at its full size.
  std::string sensitive_kind;
  auto* sensitive = add_model_command(app, "sensitive", "A model with a planted float16-sensitive region", output);
  sensitive->add_option("--model", sensitive_kind, "resnet (ResNet-26, 64x64), bert (12 layers, hidden 256) or gpt")
      ->required()
      ->check(CLI::IsMember({"resnet", "bert", "gpt"}));
  sensitive->callback([&] {
    generate(output, [&] {
      modelgen::SensitiveModel model;
      if (sensitive_kind == "resnet") {
        modelgen::ResNetSpec spec;
        spec.stage_blocks = {2, 2, 2, 2};
        spec.image_size = 64;
        model = modelgen::sensitive_resnet_model(spec);
      } else if (sensitive_kind == "bert") {
        modelgen::TransformerSpec spec = modelgen::bert_base_spec();
        spec.hidden_size = 256;
        model = modelgen::sensitive_bert_model(spec);
      } else {
        model = modelgen::sensitive_gpt_model(modelgen::GptSpec{});
      }
      std::printf("planted: %s\nmust stay float32:", model.description.c_str());
      for (const auto& name : model.planted) std::printf(" %s", name.c_str());
      std::printf("\n");
      return std::move(model.model);
    });
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "onnx-fp16-modelgen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
