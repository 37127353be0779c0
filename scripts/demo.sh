#!/usr/bin/env bash
# Builds onnx-fp16, generates the bundled example model and converts it to float16 (the main
# job), then finds a mixed-precision version of it on a sample input. Output lands in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DONNX_FP16_BUILD_TESTS=OFF -DONNX_FP16_BUILD_BENCH=OFF > /dev/null
cmake --build build/release --target onnx-fp16 onnx-fp16-modelgen
mkdir -p out
build/release/tools/modelgen/onnx-fp16-modelgen example out/example.onnx
build/release/src/onnx-fp16 convert out/example.onnx out/example_fp16.onnx --report out/example_fp16.report.json "$@"
build/release/src/onnx-fp16 inspect out/example_fp16.onnx
build/release/tools/modelgen/onnx-fp16-modelgen example-input out/example_input.npz
build/release/src/onnx-fp16 auto-mixed out/example.onnx out/example_mixed.onnx --input out/example_input.npz \
  --rtol 0.001 --atol 0.0003 --keep-io-types --report out/example_mixed.report.json
