#!/usr/bin/env bash
# Installs what building and testing onnx-fp16 needs on Debian 12: compilers and libraries from
# Debian's packages, and ONNX Runtime for Node.js (the tests' reference runtime) from npm at the
# version package-lock.json pins. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler   # ONNX protobuf types, schemas, checker, shape inference
  libopenblas-dev                                  # BLAS for the evaluator
  libcli11-dev nlohmann-json3-dev zlib1g-dev libzip-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  libonnx-testdata                                 # ONNX's backend test models, for the integration suite
  python3-onnx python3-numpy                       # independent reference checks in tests
)
# Node.js runs ONNX Runtime in the tests; a machine that has it already keeps its own.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# onnxruntime-node's install script would download binaries; the npm package already holds
# the CPU library, so skip that step.
want=$(node -p "require('./package-lock.json').packages['node_modules/onnxruntime-node'].version")
have=$(node -p "require('./node_modules/onnxruntime-node/package.json').version" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  npm ci --onnxruntime-node-install=skip --no-audit --no-fund --loglevel=error
fi
