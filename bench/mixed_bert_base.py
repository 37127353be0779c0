#!/usr/bin/python3
"""auto-mixed on a BERT-base-shaped encoder: the search's cost in float32 inferences (issue 8's
goal: at most 25) and what it keeps in float16, for the default search and the fast mode.

    bench/mixed_bert_base.py [--cli build/release/src/onnx-fp16]
                             [--modelgen build/release/tools/modelgen/onnx-fp16-modelgen]
                             [--searches fast4,fast8] [--seed N] [--repeat N] [--work-dir DIR]
                             [--no-emulation]

The model is `onnx-fp16-modelgen bert-base` (hidden 768, 12 layers, 12 heads, random weights of
trained-like scale); the sample: input_ids from numpy.random.default_rng(N).integers(0, 30522,
(1, 128)) (--seed N, default 0), attention_mask ones with positions 100 and later zero.
Tolerance rtol 0.01, atol 0.001, --keep-io-types, robust acceptance (the default 4 simulated
implementations). Searches:
  default  the default options (no attempt for a node the error model predicts to fail);
  every    --try-every-node (the default before 2026-12-05: minutes, 198 attempts when last
           measured);
  fast4    --sensitivity-budget 4 (19.0-22.1 equivalents over four BLAS builds' last bits,
           where fast8 took 19.8-55.6: docs/mixed.md "A bounded search");
  fast4_b22 fast4 with --search-budget 22 (a bound by construction: the attempt under way and
           the final check come on top);
  fast8    --sensitivity-budget 8;
  fast8_k1 fast8 with --spread-safety 1 (no margin beyond the implementations' own spread).
Printed per search: FLOPs and weight bytes in float16, attempts, full-run equivalents (node
executions / nodes per run) and the same runs weighed by FLOPs (the report's flop_run_equivalents),
seconds (the whole command: loading, search, saving), those seconds in float32 inferences (the
evaluator's warm run: the fastest of 3 after a first in one process, measured right after each
search and each search divided by its own: this machine's speed drifts by a fifth from minute to
minute, and one measurement for all of them swung the ratio from 29 to 40 between two runs of
the bench) and the search's own (the report's seconds, from the analysis to the final check) in
them (with --repeat N, each search runs N times: "first / median of the others", since the first
process to touch most of its memory pays for faulting it in, ~1.2 ms per MB on this project's
machines, and the others reuse pages the one before freed), the accepted worst tolerance ratio, the result's worst ratio
on 16 simulated implementations (12 the search never ran; as bench/mixed_real_models.py), and its worst
ratio on the numpy float16 emulation (numpy's float32 order, float64 accumulation) against the
float32 model on the evaluator, and on PyTorch's CPU kernels (as bench/mixed_real_models.py); then
where each search's time went (its last run): the command's load and save and the report's phases between them,
in seconds with their model runs in full-run equivalents. A measurement: it exits 0 unless a tool
fails.

Needs Debian's python3-numpy and python3-onnx and a built onnx-fp16 and onnx-fp16-modelgen.
"""
import argparse
import json
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import numpy as np

from mixed_real_models import (emulated, holdout_ratio, print_table, pytorch_outputs, run_cli, unseen_variants_ratio,  # the same checks
                               worst_ratio)

ROOT = pathlib.Path(__file__).resolve().parent.parent
RTOL, ATOL = 0.01, 0.001
SEARCHES = {"default": [], "every": ["--try-every-node"],
            "fast4": ["--sensitivity-budget", "4"],
            "fast4_b22": ["--sensitivity-budget", "4", "--search-budget", "22"],
            "fast8": ["--sensitivity-budget", "8"],
            "fast8_k1": ["--sensitivity-budget", "8", "--spread-safety", "1"]}


def bert_case(modelgen, work, seed=0):
    """The model (written once into `work`), its sample's .npz path and the sample's feeds (token
    ids drawn with `seed`)."""
    model = work / "bert-base.onnx"
    if not model.exists():
        subprocess.run([modelgen, "bert-base", str(model)], check=True, capture_output=True)
    ids = np.random.default_rng(seed).integers(0, 30522, (1, 128)).astype(np.int64)
    mask = np.ones((1, 128), np.int64)
    mask[:, 100:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask}
    sample = work / ("sample.npz" if seed == 0 else f"sample_seed{seed}.npz")
    np.savez(sample, **feeds)
    return model, sample, feeds


def inference_seconds(cli, model, sample, work):
    """The evaluator's warm float32 run: the fastest of 3 after the first, in one process
    (`onnx-fp16 run --repeat 4` prints "first F ms, then median M ms, fastest B ms"; its one-run
    line gives only two decimals of a second)."""
    done = run_cli(cli, "run", str(model), "--input", str(sample), "--output", str(work / "float32.npz"), "--repeat", "4")
    found = re.search(r"fastest ([0-9.]+) ms", done.stdout + done.stderr)
    return float(found.group(1)) / 1000 if found else float("inf")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=str(ROOT / "build" / "release" / "src" / "onnx-fp16"))
    parser.add_argument("--modelgen", default=str(ROOT / "build" / "release" / "tools" / "modelgen" / "onnx-fp16-modelgen"))
    parser.add_argument("--searches", default="default,fast4", help="of " + ",".join(SEARCHES))
    parser.add_argument("--seed", type=int, default=0, help="draws the sample's token ids")
    parser.add_argument("--work-dir")
    parser.add_argument("--no-emulation", action="store_true", help="skip the numpy emulation (a minute per search)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each search N times back to back (the same result): the first, then the median of the rest")
    args = parser.parse_args()
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mixed_bert_"))
    work.mkdir(parents=True, exist_ok=True)

    model, sample, feeds = bert_case(args.modelgen, work, args.seed)
    inference_seconds(args.cli, model, sample, work)  # writes the float32 reference
    reference = dict(np.load(work / "float32.npz"))
    inference_times = []

    rows, phases = [], {}
    for search in args.searches.split(","):
        result, report_path = work / f"{search}.onnx", work / f"{search}.json"
        print(f".. {search}", file=sys.stderr, flush=True)
        commands, searches = [], []  # seconds of each whole command, and of each search (its report)
        inferences = []  # the warm inference measured right after each search: its unit
        for _ in range(max(1, args.repeat)):
            start = time.monotonic()
            run_cli(args.cli, "auto-mixed", str(model), str(result), "--input", str(sample), "--rtol", str(RTOL), "--atol",
                    str(ATOL), "--keep-io-types", "--quiet", "--report", str(report_path), *SEARCHES[search])
            commands.append(time.monotonic() - start)
            searches.append(json.loads(report_path.read_text())["seconds"])
            inferences.append(inference_seconds(args.cli, model, sample, work))
        inference_times.extend(inferences)
        report = json.loads(report_path.read_text())

        def in_inferences(values):
            ratios = [value / unit for value, unit in zip(values, inferences)]
            first = f"{ratios[0]:.0f}"
            return first if len(ratios) == 1 else f"{first} / {statistics.median(ratios[1:]):.0f}"
        phases[search] = [("load", report["load_seconds"], 0.0)] + \
            [(p["name"], p["seconds"], p["full_run_equivalents"]) for p in report["phases"]] + \
            [("save", report["save_seconds"], 0.0)]
        accepted = max((m["robust_ratio"] for m in report["margins"]), default=0.0)
        unseen = unseen_variants_ratio(args.cli, model, report, sample, RTOL, ATOL, work, search, SEARCHES[search])
        emu = [None, None] if args.no_emulation else [emulated(result, feeds, work, search, f64) for f64 in (False, True)]
        emu.append(pytorch_outputs(result, feeds))
        rows.append([search, f"{100 * report['flops_float16_share']:.1f}%", f"{100 * report['weight_bytes_float16_share']:.1f}%",
                     str(report["attempts"]), f"{report['full_run_equivalents']:.1f}",
                     f"{report['flop_run_equivalents']:.1f}", f"{commands[0]:.1f}", in_inferences(commands),
                     in_inferences(searches), f"{accepted:.2f}", holdout_ratio(report), f"{unseen:.2f}"] +
                    ["-" if e is None else f"{worst_ratio(reference, e, RTOL, ATOL):.2f}" for e in emu])

    header = ["search", "FLOPs fp16", "weights fp16", "attempts", "full-run eq. (goal <= 25)", "by FLOPs", "seconds",
              "inferences", "search inferences", "accepted ratio", "holdout", "16 variants", "emu f32 order", "emu f64 acc", "PyTorch CPU"]
    print_table(header, rows)
    # Where each search's time went (the report's phases between the command's load and save):
    # seconds, and in brackets the phase's model runs in full-run equivalents.
    names = list(dict.fromkeys(name for search in phases for name, _, _ in phases[search]))
    print()
    print_table(["phase"] + list(phases), [[name] + [next((f"{sec:.2f}" + (f" [{runs:.1f}]" if runs > 0 else "")
                                                          for n, sec, runs in phases[search] if n == name), "-")
                                                    for search in phases] for name in names])
    print(f"\nfloat32 inference on the evaluator: {min(inference_times):.3f}-{max(inference_times):.3f} s, median "
          f"{statistics.median(inference_times):.3f} (measured after each search); rtol {RTOL}, atol {ATOL}; seed {args.seed}; "
          f"work: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
