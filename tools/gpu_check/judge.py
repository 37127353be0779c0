#!/usr/bin/env python3
"""A --validate-cmd for auto-mixed that judges every candidate on a GPU runtime, so the result
holds there by construction (docs/mixed.md: "a result that must hold on a given runtime is best
searched with that runtime as the judge"):

    onnx-fp16 auto-mixed MODEL OUT -i SAMPLE --rtol R --atol A --keep-io-types \\
        --validate-cmd "python3 tools/gpu_check/judge.py --runtime torch-cuda"

auto-mixed appends MODEL INPUT.npz OUTPUT.npz; this writes the model's outputs on that input.
Runtimes:
  torch-cuda  onnx_torch.py on PyTorch's CUDA device (cuDNN in benchmark mode, cuBLAS, no TF32);
  ort-cuda    ONNX Runtime's CUDA provider (needs onnxruntime-gpu); any op ONNX Runtime has;
  torch-cpu   onnx_torch.py on the CPU (float16 ops in float32, rounded once): for trying this
              command without a GPU.
Each candidate is a new process (PyTorch's import and CUDA's start, 2-5 s): a search judged this
way takes minutes where the evaluator takes seconds."""
import argparse
import pathlib
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", choices=["torch-cuda", "ort-cuda", "torch-cpu"], default="torch-cuda")
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    feeds = dict(np.load(args.input))
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    if args.runtime == "ort-cuda":
        import ort_cuda
        try:
            outputs = ort_cuda.run(ort_cuda.session(args.model), feeds)
        except (ImportError, RuntimeError) as error:
            sys.exit(f"judge.py: {error}")
    else:
        import onnx
        import onnx_torch
        onnx_torch.configure()
        outputs = onnx_torch.Interpreter(onnx.load(args.model), args.runtime.split("-")[1]).run(feeds)
    with open(args.output, "wb") as file:  # a path without .npz stays as given
        np.savez(file, **outputs)


if __name__ == "__main__":
    main()
