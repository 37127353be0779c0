#!/usr/bin/env bash
# Builds onnx-fp16, generates the bundled example model and converts it to float16:
# the main job, end to end. Output lands in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DONNX_FP16_BUILD_TESTS=OFF -DONNX_FP16_BUILD_BENCH=OFF > /dev/null
cmake --build build/release --target onnx-fp16 onnx-fp16-modelgen
mkdir -p out
build/release/tools/modelgen/onnx-fp16-modelgen example out/example.onnx
build/release/src/onnx-fp16 convert out/example.onnx out/example_fp16.onnx --report out/example_fp16.report.json "$@"
build/release/src/onnx-fp16 inspect out/example_fp16.onnx
