#!/usr/bin/env python3
"""On a CUDA machine: computes chain_fp16.onnx (MatMul -> Tanh -> MatMul -> Mul in float16) with
PyTorch on the GPU, every op on float16 tensors (cuBLAS accumulates float16 products in float32;
each op's result is stored as float16), and compares with the evaluator's outputs
(evaluator.npz, from `onnx-fp16 run`) and with a float32 computation that is rounded only at
the end (what ONNX Runtime's CPU path gives). Prints counts of differing elements."""
import sys
import numpy as np
import onnx
from onnx import numpy_helper
import torch

folder = sys.argv[1]
model = onnx.load(f"{folder}/chain_fp16.onnx")
weights = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
x = np.load(f"{folder}/x.npy")
ours = np.load(f"{folder}/evaluator.npz")["y"]

# cuBLAS may use reduced-precision reductions for float16 GEMMs unless told not to.
torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
dev = torch.device("cuda")
g = lambda name: torch.from_numpy(weights[name]).to(dev)
h = torch.from_numpy(x).to(dev) @ g("w1")
t = torch.tanh(h)
m = t @ g("w2")
gpu = (m * g("scale")).cpu().numpy()

x32 = x.astype(np.float32)
w = {k: v.astype(np.float32) for k, v in weights.items()}
unrounded = (((np.tanh(x32 @ w["w1"])) @ w["w2"]) * w["scale"]).astype(np.float16)

def differing(a, b):
    return int(np.count_nonzero(a.view(np.uint16) != b.view(np.uint16)))

print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
print(f"outputs: {ours.size}")
print(f"evaluator vs GPU float16:               {differing(ours, gpu)} differ")
print(f"evaluator vs float32 rounded at the end: {differing(ours, unrounded)} differ")
print(f"GPU float16 vs float32 rounded at end:   {differing(gpu, unrounded)} differ")
d = np.abs(ours.astype(np.float32) - gpu.astype(np.float32))
print(f"max |evaluator - GPU|: {d.max():.6g}")
