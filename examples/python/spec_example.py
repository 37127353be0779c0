"""The spec's two Python snippets with onnx_fp16 in place of onnxconverter_common, on the bundled
example model (scripts/demo.sh runs it):

    python examples/python/spec_example.py MODEL.onnx SAMPLE.npz OUT_FOLDER
"""

import sys

import numpy as np
import onnx

import onnx_fp16
from onnx_fp16 import auto_mixed_precision, float16

model_path, sample_path, out_folder = sys.argv[1:4]

# Float16 conversion
model = onnx.load(model_path)
model_fp16 = float16.convert_float_to_float16(model)
onnx.save(model_fp16, f"{out_folder}/example_fp16_python.onnx")

# Mixed precision: test_data maps each graph input to a numpy array
with np.load(sample_path) as data:
    test_data = {name: data[name] for name in data.files}
model_mixed, report = auto_mixed_precision.auto_convert_mixed_precision(
    model, test_data, rtol=0.01, atol=0.001, keep_io_types=True, verbose=False, return_report=True)
onnx.save(model_mixed, f"{out_folder}/example_mixed_python.onnx")

census = onnx_fp16.inspect(model_fp16)
print(f"Python: float16 model has {sum(census['nodes_by_precision'].get('float16', {}).values())} float16 nodes; "
      f"mixed model keeps {len(report['kept'])} of {report['candidate_nodes']} nodes in float32 "
      f"({100 * report['flops_float16_share']:.1f}% of FLOPs in float16)")
