#!/usr/bin/env bash
# Builds onnx-fp16 with AddressSanitizer and UndefinedBehaviorSanitizer and runs every test:
# unit tests, the libonnx-testdata integration suite through ONNX Runtime, the installed-package
# check, the Python package's pytest suite and a short run of each fuzz target. The benchmarks
# are not built here (no test runs them, and they cost over two minutes of this build); the
# Release build of docs/benchmarks.md builds them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/test
# -Og without debug info: the sanitizers need little optimisation, -O2 -g doubles the compile
# time of the template-heavy kernels on a 2-core machine, and -O1 still took a third more than
# -Og (elementwise_binary.cc under ASan/UBSan: 60.6 s at -O1, 40.6 s at -Og).
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-Og" -DCMAKE_C_FLAGS_DEBUG="-Og" \
  -DONNX_FP16_SANITIZE=ON -DONNX_FP16_BUILD_BENCH=OFF -DPython_EXECUTABLE=/usr/bin/python3 > /dev/null
cmake --build "$build"
# ORT must be there: a missing runtime fails the suites instead of skipping them.
export ONNX_FP16_REQUIRE_ORT=1
# Leak checks stay off: ONNX's static schema registry is never freed by design.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
