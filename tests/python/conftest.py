"""Fixtures of the Python package's tests: the generated example model (with and without
external data), a sample input, and runners for the CLI and ONNX Runtime (the tests' reference
runtime, through tests/ort/validate_with_ort.js). ctest sets the environment (tests/CMakeLists.txt):
PYTHONPATH to the build tree's package, ONNX_FP16_CLI, ONNX_FP16_MODELGEN, ONNX_FP16_SOURCE_DIR."""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import onnx
import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ONNX_FP16_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))


def _tool(variable):
    path = os.environ.get(variable)
    if not path:
        pytest.fail(f"{variable} is not set: run the Python tests through ctest (scripts/test.sh)")
    return path


@pytest.fixture(scope="session")
def cli_path():
    return _tool("ONNX_FP16_CLI")


@pytest.fixture(scope="session")
def cli(cli_path):
    path = cli_path

    def run(*args, check=True):
        result = subprocess.run([path, *map(str, args)], capture_output=True, text=True)
        if check and result.returncode != 0:
            raise AssertionError(f"onnx-fp16 {' '.join(map(str, args))} failed: {result.stderr}")
        return result

    return run


@pytest.fixture(scope="session")
def example_files(tmp_path_factory):
    """The example model (48 nodes: conv, attention, TopK...) and one sample for it."""
    folder = tmp_path_factory.mktemp("example")
    modelgen = _tool("ONNX_FP16_MODELGEN")
    subprocess.run([modelgen, "example", folder / "example.onnx"], check=True, capture_output=True)
    subprocess.run([modelgen, "example-input", folder / "input.npz"], check=True, capture_output=True)
    return folder / "example.onnx", folder / "input.npz"


@pytest.fixture
def example_path(example_files, tmp_path):
    path = tmp_path / "example.onnx"
    shutil.copyfile(example_files[0], path)
    return path


@pytest.fixture
def example_model(example_files):
    return onnx.load(str(example_files[0]))


@pytest.fixture
def sample(example_files):
    with np.load(example_files[1]) as data:
        return {name: data[name] for name in data.files}


@pytest.fixture
def external_data_model(example_files, tmp_path):
    """The example model saved with every tensor in one external data file."""
    folder = tmp_path / "external"
    folder.mkdir()
    model = onnx.load(str(example_files[0]))
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.data", size_threshold=0)
    return folder / "model.onnx"


@pytest.fixture(scope="session")
def ort_run(tmp_path_factory):
    """Runs a model in ONNX Runtime (onnxruntime-node) on one sample; the outputs by name."""
    script = SOURCE_DIR / "tests" / "ort" / "validate_with_ort.js"
    runtime = SOURCE_DIR / "node_modules" / "onnxruntime-node"
    if shutil.which("node") is None or not runtime.is_dir():
        if os.environ.get("ONNX_FP16_REQUIRE_ORT") == "1":
            pytest.fail("ONNX Runtime for Node.js is required (ONNX_FP16_REQUIRE_ORT=1) but missing")
        pytest.skip("node or onnxruntime-node missing")
    folder = tmp_path_factory.mktemp("ort")

    def run(model_path, feeds):
        inputs, outputs = folder / "in.npz", folder / "out.npz"
        np.savez(inputs, **feeds)
        subprocess.run(["node", script, model_path, inputs, outputs], check=True, capture_output=True, cwd=SOURCE_DIR)
        with np.load(outputs) as data:
            return {name: data[name] for name in data.files}

    return run


def file_digest(path):
    import hashlib
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()
