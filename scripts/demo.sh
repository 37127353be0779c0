#!/usr/bin/env bash
# Builds onnx-fp16, generates the bundled example model and converts it to float16 (the main
# job), then finds a mixed-precision version of it on a sample input. Output lands in out/.
# Then installs the Python package into .venv (which also sees Debian's numpy and onnx) and runs
# the spec's Python snippets with it: afterwards `.venv/bin/python -c "from onnx_fp16 import float16"`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DONNX_FP16_BUILD_TESTS=OFF -DONNX_FP16_BUILD_BENCH=OFF \
  -DPython_EXECUTABLE=/usr/bin/python3 > /dev/null
cmake --build build/release --target onnx-fp16 onnx-fp16-modelgen onnx_fp16_python
mkdir -p out
build/release/tools/modelgen/onnx-fp16-modelgen example out/example.onnx
build/release/src/onnx-fp16 convert out/example.onnx out/example_fp16.onnx --report out/example_fp16.report.json "$@"
build/release/src/onnx-fp16 inspect out/example_fp16.onnx
build/release/tools/modelgen/onnx-fp16-modelgen example-input out/example_input.npz
build/release/src/onnx-fp16 auto-mixed out/example.onnx out/example_mixed.onnx --input out/example_input.npz \
  --rtol 0.001 --atol 0.0003 --keep-io-types --report out/example_mixed.report.json

# The Python package: built from build/release (nothing compiles twice), installed into .venv.
[ -x .venv/bin/python ] || /usr/bin/python3 -m venv --system-site-packages .venv
ONNX_FP16_CMAKE_BUILD_DIR=build/release .venv/bin/pip install --no-build-isolation --no-deps --disable-pip-version-check \
  --quiet .
.venv/bin/python examples/python/spec_example.py out/example.onnx out/example_input.npz out
