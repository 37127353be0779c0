#!/usr/bin/env python3
"""On a CUDA machine: do onnx-fp16's float16 and mixed-precision models pass their tolerance on
real GPU arithmetic? Runs each model of FOLDER/manifest.json with onnx_torch (PyTorch on CUDA:
cuDNN convolutions, cuBLAS products) under several GPU settings, and compares with the float32
reference the search used (the evaluator's float32 outputs) and with the evaluator's own float16
outputs of the same model.

    check_mixed.py FOLDER [--out results.json]

With ONNX Runtime's CUDA provider installed (onnxruntime-gpu), each model runs there too.

manifest.json: {"cases": [{"name", "rtol", "atol", "input": NPZ, "reference": NPZ,
  "float32": ONNX, "models": {LABEL: {"model": ONNX, "evaluator": NPZ}}}]}

Printed per model and GPU setting: the worst element's tolerance ratio (tolerance.py: |a - b| /
(atol + rtol|b|), b the candidate, as numpy.allclose(float32, candidate); it passes at <= 1) on the evaluator and on PyTorch ('torch'), how many elements
exceed the tolerance on PyTorch, and relative L2 distances: evaluator and PyTorch from the float32
reference, PyTorch from the evaluator. The float32 model on PyTorch (TF32 off) checks the
interpreter itself. --device cpu runs it without a GPU (Debian's python3-torch): each float16 op
in float32 (or float64), rounded once, in PyTorch's CPU accumulation order."""
import argparse
import json
import pathlib
import sys
import time
import traceback

import numpy as np
import onnx
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import onnx_torch  # noqa: E402
import ort_cuda  # noqa: E402
from tolerance import judged  # noqa: E402

SETTINGS = {  # name -> (cuBLAS reduced-precision reductions, cuDNN benchmark mode)
    "cudnn-benchmark": (False, True),
    "reduced-reduction": (True, True),
    "cudnn-heuristic": (False, False),
}
CPU_SETTINGS = {"cpu-float32": torch.float32, "cpu-float64": torch.float64}  # what float16 ops run in


def relative_l2(candidate, reference):
    num = sum(float(np.sum((candidate[n].astype(np.float64) - r.astype(np.float64)) ** 2)) for n, r in reference.items())
    den = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in reference.values())
    return (num / den) ** 0.5 if den else float("nan")


def run_model(path, feeds, setting, device):
    if setting == "ort-cuda":
        session = ort_cuda.session(path)
        ort_cuda.run(session, feeds)  # the first run picks cuDNN algorithms (exhaustive search)
        return ort_cuda.run(session, feeds)
    onnx_torch.configure(*SETTINGS.get(setting, (False, False)))
    interpreter = onnx_torch.Interpreter(onnx.load(path), device, CPU_SETTINGS.get(setting, torch.float32))
    interpreter.run(feeds)  # the first run picks cuDNN algorithms in benchmark mode
    return interpreter.run(feeds)


def check_case(folder, case, rows, device):
    feeds = dict(np.load(folder / case["input"]))
    reference = dict(np.load(folder / case["reference"]))
    rtol, atol = case["rtol"], case["atol"]
    settings = list(SETTINGS if device == "cuda" else CPU_SETTINGS)
    if device == "cuda" and ort_cuda.available():
        settings.append("ort-cuda")
    gpu32 = run_model(folder / case["float32"], feeds, "cudnn-heuristic" if device == "cuda" else "cpu-float32", device)
    ratio, over, count = judged(reference, gpu32, rtol, atol)
    rows.append({"model": case["name"], "variant": "float32", "setting": "no TF32",
                 "gpu_ratio": ratio, "gpu_over": over, "elements": count,
                 "gpu_error": relative_l2(gpu32, reference)})
    print_row(rows[-1])
    for label, entry in case["models"].items():
        evaluator = dict(np.load(folder / entry["evaluator"]))
        eval_ratio, eval_over, _ = judged(reference, evaluator, rtol, atol)
        for setting in settings:
            gpu = run_model(folder / entry["model"], feeds, setting, device)
            ratio, over, count = judged(reference, gpu, rtol, atol)
            rows.append({"model": case["name"], "variant": label, "setting": setting,
                         "evaluator_ratio": eval_ratio, "evaluator_over": eval_over,
                         "gpu_ratio": ratio, "gpu_over": over, "elements": count,
                         "evaluator_error": relative_l2(evaluator, reference),
                         "gpu_error": relative_l2(gpu, reference),
                         "gpu_vs_evaluator": relative_l2(gpu, evaluator)})
            print_row(rows[-1])


def print_row(r):
    def f(key, fmt):
        return fmt % r[key] if key in r else "-"
    print(f"{r['model']:6} {r['variant']:9} {r['setting']:17} ratio eval {f('evaluator_ratio', '%.3f'):>7} "
          f"torch {f('gpu_ratio', '%.3f'):>7}  over {r['gpu_over']}/{r['elements']}  "
          f"rel L2: eval {f('evaluator_error', '%.2e'):>8} torch {f('gpu_error', '%.2e'):>8} "
          f"torch-eval {f('gpu_vs_evaluator', '%.2e'):>8}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--out")
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu: check this script without a GPU (float16 ops computed in float32, "
                             "rounded once)")
    parser.add_argument("--only", help="comma-separated case names")
    args = parser.parse_args()
    folder = pathlib.Path(args.folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    if args.device == "cuda":
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
              f"cuDNN {torch.backends.cudnn.version()}, CUDA {torch.version.cuda}; ONNX Runtime's CUDA provider: "
              f"{'yes' if ort_cuda.available() else 'no'}", flush=True)
    rows, failures = [], 0
    for case in manifest["cases"]:
        if args.only and case["name"] not in args.only.split(","):
            continue
        start = time.time()
        try:
            check_case(folder, case, rows, args.device)
        except Exception:
            failures += 1
            traceback.print_exc()
        print(f"{case['name']}: {time.time() - start:.1f} s", flush=True)
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(rows, indent=1))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
