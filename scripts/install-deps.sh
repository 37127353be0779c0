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
  python3-dev pybind11-dev python3-pytest          # the Python package (python/) and its tests
  python3-venv python3-setuptools                  # `pip install .` of the package into .venv
)
# Node.js runs ONNX Runtime in the tests; a machine that has it already keeps its own.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# apt-get that waits while another apt or dpkg process (unattended-upgrades, a provisioning
# script) holds the locks, instead of failing: dpkg's lock through DPkg::Lock::Timeout, and any
# lock (apt-get update's lists lock included) by retrying while the error is a lock error, for up
# to 30 minutes.
apt_get() {
  local deadline=$((SECONDS + 1800)) log
  log=$(mktemp)
  until DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$log"; do
    if grep -qiE "could not get lock|unable to (acquire|lock)|another process" "$log" && ((SECONDS < deadline)); then
      echo "install-deps: apt is busy (another process holds its lock); waiting..." >&2
      sleep 10
    else
      cat "$log" >&2
      rm -f "$log"
      return 1
    fi
  done
  rm -f "$log"
}

if ((${#missing[@]})); then
  echo "Installing Debian packages: ${missing[*]}"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci when node_modules lacks a dependency of package.json at its locked version (ONNX
# Runtime, the trained PaddleOCR and Silero VAD models). onnxruntime-node's install script would download
# binaries; the npm package already holds the CPU library, so skip that step.
stale=$(node -e '
  const locked = require("./package-lock.json").packages;
  const fs = require("fs");
  const stale = Object.keys(require("./package.json").dependencies).filter((name) => {
    try {
      return JSON.parse(fs.readFileSync(`node_modules/${name}/package.json`)).version !== locked[`node_modules/${name}`].version;
    } catch {
      return true;
    }
  });
  console.log(stale.join(" "));')
if [ -n "$stale" ]; then
  npm ci --onnxruntime-node-install=skip --no-audit --no-fund --loglevel=error
fi
