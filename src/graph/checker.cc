#include <onnx_fp16/error.h>
#include <onnx_fp16/checker.h>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "graph/domain.h"

namespace onnx_fp16 {

namespace {

// The newest opset the installed ONNX has schemas for, per domain.
std::string newer_than_installed(const onnx::ModelProto& model) {
  if (model.ir_version() > onnx::IR_VERSION) {
    return "IR version " + std::to_string(model.ir_version()) + " is newer than the installed ONNX knows (" +
           std::to_string(onnx::IR_VERSION) + ")";
  }
  const auto& ranges = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  for (const auto& op : model.opset_import()) {
    const std::string domain = graph::canonical_domain(op.domain());
    auto it = ranges.find(domain);
    if (it != ranges.end() && op.version() > it->second.second) {
      return "opset " + std::to_string(op.version()) + " of domain '" + graph::domain_label(domain) +
             "' is newer than the installed ONNX knows (" + std::to_string(it->second.second) + ")";
    }
  }
  return "";
}

}  // namespace

std::string check_model_full(const onnx::ModelProto& model) {
  if (auto note = newer_than_installed(model); !note.empty()) return "not checked: " + note;
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto copy = model;  // strict inference writes value_info; the caller's model stays as it is
    onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
    onnx::shape_inference::InferShapes(copy, onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    throw Error(std::string("invalid model: ") + e.what());
  }
  return "";
}

}  // namespace onnx_fp16
