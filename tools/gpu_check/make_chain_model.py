#!/usr/bin/env python3
"""Writes chain.onnx (float32: MatMul -> Tanh -> MatMul -> Mul, 16x64 @ 64x64 @ 64x32) and its
input x.npy, for the GPU check of the evaluator's float16 contract (run_on_gpu.py). Uses
Debian's python3-onnx and numpy (/usr/bin/python3)."""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

out = sys.argv[1] if len(sys.argv) > 1 else "."
rng = np.random.default_rng(7)
w1 = (rng.standard_normal((64, 64)) * 0.3).astype(np.float32)
w2 = (rng.standard_normal((64, 32)) * 0.3).astype(np.float32)
scale = (rng.standard_normal((32,)) * 2.0).astype(np.float32)
x = rng.standard_normal((16, 64)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Tanh", ["h"], ["t"]),
     helper.make_node("MatMul", ["t", "w2"], ["m"]), helper.make_node("Mul", ["m", "scale"], ["y"])],
    "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 32])],
    [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(scale, "scale")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, f"{out}/chain.onnx")
np.save(f"{out}/x.npy", x.astype(np.float16))
