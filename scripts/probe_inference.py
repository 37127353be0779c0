#!/usr/bin/python3
"""Probes `onnx-fp16 convert` with one-node models of every ONNX-domain schema this ONNX knows,
their inputs at shapes and ranks no schema rules out but ONNX's inference functions may not
expect: all inputs of rank 0, 1 or 3, the first of rank 4 and the rest of rank 1 (and the
reverse), the first of rank 3 and the rest scalars; each with float inputs, float then int64,
and all int64. The conversion must answer every one with exit 0 or a clear refusal (exit 1):
a crash is a finding (ONNX 1.12's inference crashed on Conv's family, LayerNormalization, STFT
and Scan among these; src/types/inference_guards.cc guards them).

    scripts/probe_inference.py [--cli build/release/src/onnx-fp16] [--keep DIR]

Prints each crash (op, ranks, types, exit status) and a count; exits 1 when any crashed. About
4,000 models: 70 s on an idle 2-core machine. Needs Debian's python3-onnx. Complements the fuzz
targets (scripts/fuzz.sh), which mutate bytes and rarely reach a valid node with odd shapes.
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile

import onnx
from onnx import TensorProto, defs, helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
# (rank of input 0, rank of the others)
RANK_PATTERNS = [(0, 0), (1, 1), (3, 3), (4, 1), (1, 4), (3, 0)]


def one_node_model(schema, ranks, types, outputs):
    inputs = [helper.make_tensor_value_info(f"i{k}", t, [2] * (ranks[0] if k == 0 else ranks[1]))
              for k, t in enumerate(types)]
    names = [f"o{k}" for k in range(outputs)]
    node = helper.make_node(schema.name, [i.name for i in inputs], names)
    graph = helper.make_graph([node], "probe", inputs, [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                                                         for n in names])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(schema.since_version, 11))])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=str(ROOT / "build" / "release" / "src" / "onnx-fp16"))
    parser.add_argument("--keep", help="a folder to keep the models that crashed in")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="probe_inference_"))
    keep = pathlib.Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    schemas = sorted((s for s in defs.get_all_schemas() if s.domain == ""), key=lambda s: s.name)
    total = crashes = 0
    for schema in schemas:
        outputs = min(schema.max_output, 3)
        for count in sorted({max(schema.min_input, 1), min(schema.max_input, 5)}):
            type_patterns = ([TensorProto.FLOAT] * count, [TensorProto.FLOAT] + [TensorProto.INT64] * (count - 1),
                             [TensorProto.INT64] * count)
            for ranks in RANK_PATTERNS:
                for types in type_patterns:
                    model = work / "model.onnx"
                    onnx.save(one_node_model(schema, ranks, types, outputs), str(model))
                    total += 1
                    run = subprocess.run([args.cli, "convert", str(model), str(work / "out.onnx"), "--force", "-q"],
                                         capture_output=True)
                    if run.returncode in (0, 1):
                        continue
                    crashes += 1
                    print(f"{schema.name}: inputs of ranks {ranks}, types {types}: exit {run.returncode}", flush=True)
                    if keep:
                        model.rename(keep / f"{schema.name}_{ranks[0]}_{ranks[1]}_{count}_{types[-1]}.onnx")
    shutil.rmtree(work, ignore_errors=True)
    print(f"{total} models, {crashes} crashed")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
