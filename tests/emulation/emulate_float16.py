#!/usr/bin/python3
"""Independent float16 emulation of an ONNX model, the reference for the evaluator's contract.

    emulate_float16.py MODEL.onnx INPUT_DIR OUTPUT_DIR [--no-intermediate-rounding] [--accumulate=float64]

Reads every INPUT_DIR/*.pb (a serialized TensorProto whose name is a graph input), runs the
model's nodes in file order with numpy, and writes each graph output i as OUTPUT_DIR/<i>.pb.

The contract emulated (docs/evaluator.md): a float16 tensor is stored as float16; an operator
widens its float16 inputs to float32, computes in float32 (float16_ops.py), and its result is
rounded once, with numpy's round-to-nearest-even `.astype(np.float16)`, when the output's type
is float16. With --no-intermediate-rounding every float16 value is kept in float32 instead and
only the graph outputs are rounded: what ONNX Runtime's CPU path computes once it has removed
its cast pairs, used to show how far that is from float16 storage. With --accumulate=float64
sums and dot products (MatMul, Gemm, Conv, pooling, reductions, Softmax, LayerNormalization)
accumulate in float64 before their one rounding: the same contract with another accumulation
order and precision, i.e. a second faithful float16 implementation, as a GPU is one. Results
that auto-mixed accepts must hold on it too (tests/unit/mixed_robust_test.cc).

Run with Debian's /usr/bin/python3 (python3-numpy, python3-onnx). Exit status 0 on success;
an unsupported operator or attribute exits 3 naming it.
"""
import pathlib
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the script in the source tree

import numpy as np
import onnx
from onnx import helper, numpy_helper

import float16_ops as ops

FLOAT16 = np.dtype(np.float16)

# op -> function(op, inputs, attrs) returning the outputs in their compute type.
KERNELS = {}
for name in ops.UNARY:
    KERNELS[name] = ops.unary
for name in ops.BINARY:
    KERNELS[name] = ops.binary
for name in ops.COMPARISON:
    KERNELS[name] = ops.comparison
KERNELS.update({
    "Pow": ops.pow_, "Where": ops.where, "MatMul": ops.matmul, "Gemm": ops.gemm, "Conv": ops.conv,
    "MaxPool": ops.max_pool, "AveragePool": ops.average_pool, "GlobalAveragePool": ops.global_average_pool,
    "Softmax": ops.softmax, "LayerNormalization": ops.layer_normalization,
    "BatchNormalization": ops.batch_normalization, "Transpose": ops.transpose, "Reshape": ops.reshape,
    "Concat": ops.concat, "Slice": ops.slice_, "Gather": ops.gather, "Unsqueeze": ops.unsqueeze, "Squeeze": ops.squeeze,
    "Shape": ops.shape, "Flatten": ops.flatten, "Clip": ops.clip, "HardSigmoid": ops.hard_sigmoid,
    "ConvTranspose": ops.conv_transpose, "Resize": ops.resize, "Range": ops.range_,
})
REDUCTIONS = {"ReduceSum", "ReduceMean", "ReduceMax"}

# Which input's stored type an op's float output has (Where: the branches; the rest: X / A).
TYPE_SOURCE = {"Where": 1}


def np_dtype(onnx_type):
    """numpy's dtype for an ONNX element type (onnx.mapping: Debian's onnx 1.12 lacks the helper)."""
    if hasattr(helper, "tensor_dtype_to_np_dtype"):
        return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type))
    return np.dtype(onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type])


class Unsupported(Exception):
    pass


def attributes(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def cast(value, to, round_float16):
    target = np_dtype(to)
    if target == FLOAT16 and not round_float16:
        return value.astype(np.float32)
    if np.issubdtype(value.dtype, np.floating) and np.issubdtype(target, np.integer):
        # ONNX Cast truncates toward zero (numpy's astype does too, in range).
        return np.trunc(value).astype(target)
    return value.astype(target)


def run_node(node, values, opset, round_float16):
    inputs = [values[name] if name else None for name in node.input]
    attrs = attributes(node)
    op = node.op_type
    if node.domain not in ("", "ai.onnx"):
        raise Unsupported(f"{node.domain}::{op}")
    if op == "Constant":
        return [numpy_helper.to_array(attrs["value"])]
    if op == "Cast":
        return [cast(inputs[0], attrs["to"], round_float16)]
    if op in REDUCTIONS:
        results = ops.reduce(op, inputs, attrs, opset)
    elif op in KERNELS:
        results = KERNELS[op](op, inputs, attrs)
    else:
        raise Unsupported(op)
    # One rounding per value written: a float output takes its source input's stored type.
    source = inputs[TYPE_SOURCE.get(op, 0)]
    rounded = []
    for result in results:
        result = np.asarray(result)
        if source.dtype == FLOAT16 and np.issubdtype(result.dtype, np.floating) and round_float16:
            result = result.astype(np.float16)
        rounded.append(result)
    return rounded


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    round_float16 = "--no-intermediate-rounding" not in argv
    if "--accumulate=float64" in argv:
        ops.set_accumulator(np.float64)
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = onnx.load(args[0])
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
    values = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for path in sorted(pathlib.Path(args[1]).glob("*.pb")):
        tensor = onnx.TensorProto()
        tensor.ParseFromString(path.read_bytes())
        values[tensor.name] = numpy_helper.to_array(tensor)
    if not round_float16:
        # Unrounded mode: float16 data is held in float32 from the start.
        values = {k: v.astype(np.float32) if v.dtype == FLOAT16 else v for k, v in values.items()}
    for node in model.graph.node:
        try:
            outputs = run_node(node, values, opset, round_float16)
        except Unsupported as e:
            print(f"emulate_float16: unsupported operator {e} at node '{node.name}'", file=sys.stderr)
            return 3
        except Exception as e:
            print(f"emulate_float16: node '{node.name}' ({node.op_type}) failed: {e!r}", file=sys.stderr)
            return 4
        for name, value in zip(node.output, outputs):
            if name:
                values[name] = value
    out_dir = pathlib.Path(args[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, output in enumerate(model.graph.output):
        value = values[output.name]
        declared = output.type.tensor_type.elem_type
        if declared and np_dtype(declared) == FLOAT16:
            value = value.astype(np.float16)  # a no-op unless the intermediates were kept float32
        (out_dir / f"{index}.pb").write_bytes(numpy_helper.from_array(value, output.name).SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
