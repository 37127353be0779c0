// The options the Python functions pass down, as dicts with fixed keys (onnx_fp16/_native_api.py
// builds them after checking every argument): one place that maps them onto the library's.
#pragma once

#include <onnx_fp16/convert.h>
#include <onnx_fp16/mixed.h>
#include <pybind11/pybind11.h>

namespace onnx_fp16::python {

// Keys: target, min_positive_val, max_finite_val, keep_io_types, keep_io_names,
// disable_shape_infer, op_block_list (None: the default list), node_block_list, force.
Float16Options float16_options(const pybind11::dict& options);

// Keys: conversion (a dict as above), rtol, atol (None: unset), strategy ("improved" or
// "baseline"), search, data_max, init_max (None: unset), keep_ops, keep_node_pattern,
// float16_variants, variant_spread, spread_safety, threads. validate and progress are set by the
// caller.
MixedOptions mixed_options(const pybind11::dict& options);

}  // namespace onnx_fp16::python
