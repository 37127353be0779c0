#!/usr/bin/env bash
# Fuzzes onnx-fp16 with libFuzzer (clang), AddressSanitizer and UndefinedBehaviorSanitizer: the
# model loader and converter, the evaluator, the tensor file readers, automatic mixed precision
# (fuzz/). Each target runs
# for FUZZ_SECONDS (default 300) from its seeds (fuzz/seeds.txt) and regressions, its corpus kept
# in build/fuzz/corpus/<target> between runs. A finding stops the target and leaves the input in
# build/fuzz/artifacts/<target>/: fix it, then add the input to fuzz/regressions/<target>/,
# which every test run replays (scripts/test.sh runs each target briefly without libFuzzer).
#   scripts/fuzz.sh [target...]     targets: convert evaluator tensor_files auto_mixed
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=build/fuzz
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DONNX_FP16_FUZZ=ON -DONNX_FP16_BUILD_TESTS=OFF -DONNX_FP16_BUILD_BENCH=OFF \
  -DONNX_FP16_BUILD_PYTHON=OFF > /dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(convert evaluator tensor_files auto_mixed); fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}"
export ASAN_OPTIONS=detect_leaks=0
export UBSAN_OPTIONS=print_stacktrace=1
findings=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  # libFuzzer reads a corpus folder flat: copy the seeds in once, named after their paths.
  if [ -z "$(ls -A "$corpus")" ]; then
    while read -r name folder; do
      [ "$name" = "$target" ] || continue
      case "$folder" in /*) ;; *) folder="$PWD/$folder" ;; esac
      find "$folder" -type f | while read -r file; do cp "$file" "$corpus/$(echo "${file#/}" | tr / _)"; done
    done < <(grep -v '^#' fuzz/seeds.txt)
  fi
  echo "== fuzz_$target: ${FUZZ_SECONDS:-300} s"
  mkdir -p "fuzz/regressions/$target"
  if ! "$build/fuzz/fuzz_$target" "$corpus" "fuzz/regressions/$target" -max_total_time="${FUZZ_SECONDS:-300}" \
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1; then
    echo "fuzz_$target: a finding, input in $artifacts/"
    findings=$((findings + 1))
  fi
done
exit $((findings > 0))
