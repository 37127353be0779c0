#!/usr/bin/env bash
# Runs the unit tests under ThreadSanitizer, among them RuntimeParallel.OneEvaluatorRunsFromSeveral-
# ThreadsAtOnce (Evaluator::run is documented as thread-safe) and the kernels' thread pools.
# Not part of scripts/test.sh: a ThreadSanitizer build cannot share the AddressSanitizer build,
# and a second full build does not fit the test command's time on a 2-core machine (this one:
# about 7.5 minutes to build, 2 to run); CI (.ci/run) runs it before scripts/test.sh. Extra
# arguments go to the test binary
# (e.g. --gtest_filter='RuntimeParallel.*').
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/tsan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1" -DCMAKE_C_FLAGS_DEBUG="-O1" \
  -DONNX_FP16_TSAN=ON -DONNX_FP16_BUILD_PYTHON=OFF -DONNX_FP16_BUILD_BENCH=OFF > /dev/null
cmake --build "$build" --target unit_tests
# halt_on_error: the first race fails the run. OpenBLAS is not instrumented: races inside it
# are invisible here, races on the evaluator's own state are not.
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
"$build/tests/unit_tests" "$@"
