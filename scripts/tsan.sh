#!/usr/bin/env bash
# Runs the suites whose code runs on several threads at once under ThreadSanitizer (the
# thread_tests binary, tests/CMakeLists.txt), among them RuntimeParallel.OneEvaluatorRunsFrom-
# SeveralThreadsAtOnce (Evaluator::run is documented as thread-safe), the kernels' thread pool,
# the buffer pool and the auto-mixed search. Not part of scripts/test.sh: a ThreadSanitizer build
# cannot share the AddressSanitizer build, and a second build does not fit the test command's
# time on a 2-core machine; CI (.ci/run) runs it before scripts/test.sh. Extra arguments go to
# the test binary (e.g. --gtest_filter='RuntimeParallel.*').
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/tsan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1" -DCMAKE_C_FLAGS_DEBUG="-O1" \
  -DONNX_FP16_TSAN=ON -DONNX_FP16_BUILD_PYTHON=OFF -DONNX_FP16_BUILD_BENCH=OFF > /dev/null
cmake --build "$build" --target thread_tests
# halt_on_error: the first race fails the run. OpenBLAS is not instrumented: races inside it
# are invisible here, races on the evaluator's own state are not.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
"$build/tests/thread_tests" "$@"
