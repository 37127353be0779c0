#!/usr/bin/python3
"""Independent float16 emulation of an ONNX model, the reference for the evaluator's contract.

    emulate_float16.py MODEL.onnx INPUT_DIR OUTPUT_DIR [--no-intermediate-rounding] [--accumulate=float64]

Reads every INPUT_DIR/*.pb (a serialized TensorProto whose name is a graph input), runs the
model's nodes in file order with numpy (an If's branch and a Loop's body when their node runs),
and writes each graph output i as OUTPUT_DIR/<i>.pb.

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
    "Size": ops.size, "LSTM": ops.lstm,
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


class NodeFailed(Exception):
    """A node's kernel raised: the message names the node (the innermost, inside a subgraph)."""


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


def initializers(graph, round_float16):
    """A graph's initializers (a subgraph's too), float16 held in float32 in unrounded mode."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    return values if round_float16 else {k: unrounded(v) for k, v in values.items()}


def unrounded(value):
    return value.astype(np.float32) if value.dtype == FLOAT16 else value


def run_graph(graph, scope, feeds, opset, round_float16):
    """Runs a graph's nodes in file order and returns its outputs in order. It reads `scope` (an
    outer graph's values, for a subgraph), its initializers, and `feeds` (its inputs), each
    shadowing the one before: a fed graph input replaces its initializer's default."""
    values = dict(scope)
    values.update(initializers(graph, round_float16))
    values.update(feeds)
    for node in graph.node:
        outputs = run_node(node, values, opset, round_float16)
        for name, value in zip(node.output, outputs):
            if name:
                values[name] = value
    return [values[output.name] for output in graph.output]


def run_if(node, inputs, attrs, values, opset, round_float16):
    branch = attrs["then_branch"] if bool(np.asarray(inputs[0]).reshape(())) else attrs["else_branch"]
    return run_graph(branch, values, {}, opset, round_float16)


def run_loop(node, inputs, attrs, values, opset, round_float16):
    """Loop: body(iteration, condition, carried...) -> (condition, carried..., scan outputs...);
    the scan outputs of every iteration stacked on a new first axis."""
    body = attrs["body"]
    trips = None if inputs[0] is None or inputs[0].size == 0 else int(inputs[0].reshape(()))
    go_on = True if len(inputs) < 2 or inputs[1] is None else bool(inputs[1].reshape(()))
    carried = list(inputs[2:])
    scans = None
    iteration = 0
    while go_on and (trips is None or iteration < trips):
        names = [i.name for i in body.input]
        feeds = {names[0]: np.array(iteration, dtype=np.int64), names[1]: np.array(go_on)}
        feeds.update(zip(names[2:], carried))
        results = run_graph(body, values, feeds, opset, round_float16)
        go_on = bool(np.asarray(results[0]).reshape(()))
        carried = results[1:1 + len(carried)]
        step_scans = results[1 + len(carried):]
        scans = [[s] for s in step_scans] if scans is None else [a + [s] for a, s in zip(scans, step_scans)]
        iteration += 1
    scan_count = len(body.output) - 1 - len(carried)
    if scans is None:
        if scan_count:  # their shapes would come from a body that never ran
            raise Unsupported("Loop that runs no iteration and has scan outputs")
        scans = []
    return carried + [np.stack(s) for s in scans]


# Nodes whose outputs are values their subgraphs (or inputs) already stored, not new roundings.
CONTROL_FLOW = {"If": run_if, "Loop": run_loop}


def run_node(node, values, opset, round_float16):
    inputs = [values[name] if name else None for name in node.input]
    attrs = attributes(node)
    op = node.op_type
    try:
        if node.domain not in ("", "ai.onnx"):
            raise Unsupported(f"{node.domain}::{op}")
        if op in CONTROL_FLOW:
            return CONTROL_FLOW[op](node, inputs, attrs, values, opset, round_float16)
        if op == "Constant":
            return [numpy_helper.to_array(attrs["value"])]
        if op == "Cast":
            return [cast(inputs[0], attrs["to"], round_float16)]
        if op == "ConstantOfShape":
            value = attrs.get("value")
            results = ops.constant_of_shape(op, inputs, {"value": None if value is None else numpy_helper.to_array(value)})
            return results if round_float16 else [unrounded(r) for r in results]
        if op in REDUCTIONS:
            results = ops.reduce(op, inputs, attrs, opset)
        elif op == "Pad":
            results = ops.pad(op, inputs, attrs, opset)
        elif op == "Split":
            results = ops.split(op, inputs, attrs, opset, len(node.output))
        elif op in KERNELS:
            results = KERNELS[op](op, inputs, attrs)
        else:
            raise Unsupported(op)
    except Unsupported as e:  # named from the innermost node out
        raise Unsupported(f"{e}, inside '{node.name}'" if op in CONTROL_FLOW else f"{e} at node '{node.name}'") from None
    except NodeFailed as e:
        raise NodeFailed(f"{e}, inside '{node.name}'") from None
    except Exception as e:
        raise NodeFailed(f"node '{node.name}' ({op}) failed: {e!r}") from e
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
    feeds = {}
    for path in sorted(pathlib.Path(args[1]).glob("*.pb")):
        tensor = onnx.TensorProto()
        tensor.ParseFromString(path.read_bytes())
        value = numpy_helper.to_array(tensor)
        # Unrounded mode: float16 data is held in float32 from the start.
        feeds[tensor.name] = value if round_float16 else unrounded(value)
    try:
        outputs = run_graph(model.graph, {}, feeds, opset, round_float16)
    except Unsupported as e:
        print(f"emulate_float16: unsupported operator {e}", file=sys.stderr)
        return 3
    except NodeFailed as e:
        print(f"emulate_float16: {e}", file=sys.stderr)
        return 4
    out_dir = pathlib.Path(args[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, (output, value) in enumerate(zip(model.graph.output, outputs)):
        declared = output.type.tensor_type.elem_type
        if declared and np_dtype(declared) == FLOAT16:
            value = value.astype(np.float16)  # a no-op unless the intermediates were kept float32
        (out_dir / f"{index}.pb").write_bytes(numpy_helper.from_array(value, output.name).SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
