#!/usr/bin/env bash
# `pip install .` of the Python package into a fresh virtual environment of the system python3,
# reusing BUILD_DIR's native module (ONNX_FP16_CMAKE_BUILD_DIR), then imports it from outside the
# source tree and converts a model: proves that pyproject.toml, setup.py and the package data
# (stubs, py.typed) install a working package. Runs in BUILD_DIR's environment (LD_PRELOAD for a
# sanitizer build comes from ctest).
set -euo pipefail
source_dir=$1
build_dir=$2
python=$3
work=$(mktemp -d)
unset PYTHONPATH  # the build tree's package must not hide the installed one
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
# pip builds in the source tree (setup.py's build_ext writes under build/, ignored by git): work
# on a copy of the package sources so that parallel tests never see half-written files.
mkdir "$work/src"
cp -r "$source_dir/pyproject.toml" "$source_dir/setup.py" "$source_dir/python" "$source_dir/docs" "$work/src/"
ONNX_FP16_CMAKE_BUILD_DIR="$build_dir" "$work/venv/bin/python" -m pip install --no-build-isolation --no-deps \
  --disable-pip-version-check --quiet "$work/src" > "$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
cd "$work"
"$work/venv/bin/python" - <<'PY'
import pathlib
import onnx
from onnx import helper, TensorProto
import onnx_fp16
from onnx_fp16 import float16

package = pathlib.Path(onnx_fp16.__file__).parent
assert "site-packages" in str(package), package
for name in ("_native.pyi", "py.typed", "float16.py", "auto_mixed_precision.py"):
    assert (package / name).is_file(), f"{name} not installed in {package}"
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
model = float16.convert_float_to_float16(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16
print("installed onnx_fp16", onnx_fp16.__version__, "from", package)
PY
