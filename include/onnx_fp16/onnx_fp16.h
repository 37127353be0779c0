// Everything the library offers, in one include.
#pragma once

#include <onnx_fp16/compare.h>
#include <onnx_fp16/convert.h>
#include <onnx_fp16/error.h>
#include <onnx_fp16/evaluator.h>
#include <onnx_fp16/inspect.h>
#include <onnx_fp16/mixed.h>
#include <onnx_fp16/model_io.h>
#include <onnx_fp16/tensor.h>
#include <onnx_fp16/tensor_io.h>
#include <onnx_fp16/checker.h>
