// Guards around ONNX's shape inference where its per-op functions trust what no check before
// them establishes. OpSchema::Verify checks attributes and arity, check_against_schemas
// (type_inference.cc) declared types; shapes are only known during inference, and some of
// ONNX 1.12's functions index by them unchecked, crashing (a segmentation fault or SIGFPE, in
// onnx-fp16 and in Python's onnx.shape_inference alike): Conv's family and MaxUnpool when the
// weights' (indices') rank is not the input's, LayerNormalization on an axis below -rank, STFT
// on a signal of another rank than 3, convolution and pooling on a stride of 0. Found by
// fuzz_convert, then by probing every schema with out-of-range axes, inputs of ranks 0, 1, 3
// and 4, and zero or negative window attributes. The table of what each op relies on is in
// inference_guards.cc.
#pragma once

#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>

#include <string>

namespace onnx_fp16::types {

// ONNX's schema registry, except that the inference functions of the guarded ops first check
// the shape contract they rely on and fail as inference fails (onnx::InferenceError, which
// non-strict inference records and passes over) instead of reading out of bounds. Pass it to
// onnx::shape_inference::InferShapes. Thread-safe.
const onnx::ISchemaRegistry& guarded_schema_registry();

// After inference: the first node of `model` (any graph) that breaks a guarded contract, named
// with its values, or "" when none does. Shapes come from the graphs' inputs, initializers,
// value_info and outputs.
std::string shape_contract_problem(const onnx::ModelProto& model);

}  // namespace onnx_fp16::types
