#!/usr/bin/env python3
"""Makes converted models small enough to carry to a GPU machine: every large tensor of MODEL
that is a cast of the same-named float32 tensor of SOURCE is replaced by a stub naming it, and
restored on the other side from SOURCE (which the GPU machine regenerates, e.g. with
onnx-fp16-modelgen, or receives once for all the converted variants).

    travel.py pack   MODEL SOURCE OUT   # OUT: MODEL with stubs (only bit-exact restorations)
    travel.py unpack MODEL SOURCE OUT   # OUT: MODEL with every stub filled; fails on a mismatch

A float16 restoration applies onnx-fp16's default constant rules (0 < |x| < 1e-7 becomes 1e-7,
finite |x| > 1e4 becomes 1e4) before rounding; pack checks each restoration byte for byte and
records its sha256, which unpack verifies."""
import hashlib
import sys

import numpy as np
import onnx
from onnx import numpy_helper

MARK = "onnx-fp16 travel stub sha256="
LARGE = 64 * 1024  # bytes; smaller tensors travel as they are


def tensors(model):
    """Every tensor stored in the model: initializers and Constant nodes' values."""
    for t in model.graph.initializer:
        yield t.name, t
    for node in model.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    yield node.output[0], a.t


def restored(source_array, data_type):
    if data_type == onnx.TensorProto.FLOAT16:
        x = source_array.astype(np.float32)
        magnitude = np.abs(x)
        x = np.where((magnitude > 0) & (magnitude < 1e-7), np.sign(x) * np.float32(1e-7), x)
        x = np.where(np.isfinite(x) & (magnitude > 1e4), np.sign(x) * np.float32(1e4), x)
        return x.astype(np.float16)
    if data_type == onnx.TensorProto.FLOAT:
        return source_array.astype(np.float32)
    return None


def digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def pack(model, source):
    sources = {name: numpy_helper.to_array(t) for name, t in tensors(source)}
    stubbed = 0
    for name, t in tensors(model):
        if name not in sources or t.data_type not in (onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT):
            continue
        array = numpy_helper.to_array(t)
        if array.nbytes < LARGE:
            continue
        again = restored(sources[name], t.data_type)
        if again is None or again.shape != array.shape or again.tobytes() != array.tobytes():
            continue
        own_name, dims, data_type = t.name, list(t.dims), t.data_type
        t.Clear()
        t.name, t.data_type = own_name, data_type
        t.dims.extend(dims)
        t.doc_string = MARK + digest(array)
        stubbed += 1
    return stubbed


def unpack(model, source):
    sources = {name: numpy_helper.to_array(t) for name, t in tensors(source)}
    filled = 0
    for name, t in tensors(model):
        if not t.doc_string.startswith(MARK):
            continue
        if name not in sources:
            sys.exit(f"travel: stub '{name}' has no tensor of that name in the source model")
        array = restored(sources[name], t.data_type)
        if digest(array) != t.doc_string[len(MARK):]:
            sys.exit(f"travel: stub '{name}': the restored tensor differs from the packed one")
        restored_tensor = numpy_helper.from_array(array, t.name)
        t.CopyFrom(restored_tensor)
        filled += 1
    return filled


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("pack", "unpack"):
        sys.exit(__doc__)
    verb, model_path, source_path, out = sys.argv[1:]
    model, source = onnx.load(model_path), onnx.load(source_path)
    count = (pack if verb == "pack" else unpack)(model, source)
    onnx.save(model, out)
    print(f"{verb}: {count} tensors, {model_path} -> {out}")


if __name__ == "__main__":
    main()
