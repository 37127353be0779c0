"""onnx_fp16.float16: the spec's convert_float_to_float16 and helpers, as a drop-in for
onnxconverter-common's module."""

import random
import warnings

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import onnx_fp16
from onnx_fp16 import float16

from conftest import file_digest

# onnxconverter-common's DEFAULT_OP_BLOCK_LIST, as the spec describes it (ops ONNX Runtime has no
# float16 kernel for), written out here so that a change to the library's list is caught.
SPEC_OP_BLOCK_LIST = [
    "ArrayFeatureExtractor", "Binarizer", "CastMap", "CategoryMapper", "DictVectorizer", "FeatureVectorizer",
    "Imputer", "LabelEncoder", "LinearClassifier", "LinearRegressor", "Normalizer", "OneHotEncoder",
    "RandomUniformLike", "SVMClassifier", "SVMRegressor", "Scaler", "TreeEnsembleClassifier",
    "TreeEnsembleRegressor", "ZipMap", "NonMaxSuppression", "TopK", "RoiAlign", "Resize", "Range", "CumSum", "Min",
    "Max", "Upsample",
]


def float_types(model):
    """Element types of the main graph's node-level value declarations and initializers."""
    return {init.data_type for init in model.graph.initializer}


def test_spec_snippet_runs_with_only_the_import_changed(example_files, tmp_path):
    model_path, out_path = str(example_files[0]), str(tmp_path / "model_fp16.onnx")
    original_bytes = open(model_path, "rb").read()
    # --- the spec's code, import changed
    import onnx
    from onnx_fp16 import float16

    model = onnx.load(model_path)
    model_fp16 = float16.convert_float_to_float16(model)
    onnx.save(model_fp16, out_path)
    # ---
    assert model.SerializeToString() == onnx.load_model_from_string(original_bytes).SerializeToString(), \
        "the input model object was modified"
    saved = onnx.load(out_path)
    onnx.checker.check_model(saved, full_check=True)
    assert onnx.TensorProto.FLOAT16 in float_types(saved)
    assert onnx.TensorProto.FLOAT not in {i.type.tensor_type.elem_type for i in saved.graph.input}


def test_default_op_block_list_is_the_specs():
    assert float16.DEFAULT_OP_BLOCK_LIST == SPEC_OP_BLOCK_LIST


OPTION_SETS = [
    ({}, []),
    ({"keep_io_types": True}, ["--keep-io-types"]),
    ({"keep_io_types": ["logits"]}, ["--keep-io", "logits"]),
    ({"min_positive_val": 1e-3, "max_finite_val": 100.0}, ["--min-positive-val", "1e-3", "--max-finite-val", "100"]),
    ({"op_block_list": ["Softmax", "Erf"], "node_block_list": ["attention/scores"]},
     ["--op-block-list", "Softmax,Erf", "--node-block-list", "attention/scores"]),
    ({"op_block_list": []}, ["--op-block-list", ""]),
    ({"disable_shape_infer": True}, ["--disable-shape-infer"]),
    ({"target": "bfloat16"}, ["--to", "bfloat16"]),
]


@pytest.mark.parametrize("kwargs,flags", OPTION_SETS, ids=[str(k) for k, _ in OPTION_SETS])
def test_result_equals_the_cli_output_for_the_same_options(example_model, example_files, tmp_path, cli, kwargs, flags):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", onnx_fp16.ConversionWarning)
        converted, report = float16.convert_float_to_float16(example_model, return_report=True, **kwargs)
    out = tmp_path / "cli.onnx"
    cli("convert", example_files[0], out, "--report", tmp_path / "cli.json", *flags)
    assert converted.SerializeToString() == onnx.load(str(out)).SerializeToString()
    import json
    cli_report = json.loads((tmp_path / "cli.json").read_text())
    assert report["kept_nodes"] == cli_report["kept_nodes"]
    assert report["options"] == cli_report["options"]
    assert report["casts_added"] == cli_report["casts_added"]


def test_report_names_kept_nodes_and_reasons(example_model):
    _, report = float16.convert_float_to_float16(example_model, return_report=True)
    reasons = {node["op_type"]: node["reason"] for node in report["kept_nodes"]}
    assert reasons.get("TopK") == "op_block_list"
    assert report["converted_nodes"] > 30
    assert report["shape_inference"]["ran"] is True


def test_result_is_a_model_of_the_callers_class_and_accepts_bytes_and_paths(example_model, example_path):
    from_object = float16.convert_float_to_float16(example_model)
    from_bytes = float16.convert_float_to_float16(example_model.SerializeToString())
    from_path = float16.convert_float_to_float16(str(example_path))
    assert type(from_object) is type(example_model)
    assert isinstance(from_bytes, onnx.ModelProto) and isinstance(from_path, onnx.ModelProto)
    assert from_object.SerializeToString() == from_bytes.SerializeToString() == from_path.SerializeToString()


def test_option_naming_nothing_warns(example_model):
    with pytest.warns(onnx_fp16.ConversionWarning, match="no_such_node"):
        float16.convert_float_to_float16(example_model, node_block_list=["no_such_node"])


def test_model_already_float16_needs_force(example_model):
    once = float16.convert_float_to_float16(example_model)
    with pytest.raises(onnx_fp16.Error, match="float16"):
        float16.convert_float_to_float16(once)
    float16.convert_float_to_float16(once, force=True)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"op_block_list": "TopK"}, TypeError, "single string"),
    ({"node_block_list": [3]}, TypeError, "names"),
    ({"min_positive_val": -1.0}, ValueError, "min_positive_val"),
    ({"max_finite_val": float("inf")}, ValueError, "max_finite_val"),
    ({"target": "float8"}, ValueError, "target"),
    ({"keep_io_types": "logits"}, TypeError, "single string"),
])
def test_bad_arguments_raise_clear_errors(example_model, kwargs, error, match):
    with pytest.raises(error, match=match):
        float16.convert_float_to_float16(example_model, **kwargs)


def test_bad_models_raise_the_package_error(tmp_path):
    with pytest.raises(TypeError, match="ModelProto"):
        float16.convert_float_to_float16(42)
    with pytest.raises(onnx_fp16.Error, match="not an ONNX model"):
        float16.convert_float_to_float16(b"\xff\xff\xff not a model")
    missing = tmp_path / "missing.onnx"
    with pytest.raises(onnx_fp16.Error, match="missing.onnx"):
        float16.convert_float_to_float16(str(missing))
    assert issubclass(onnx_fp16.Error, RuntimeError)


def test_corrupted_models_raise_the_package_error(example_model):
    """The example model's bytes with 1-8 bytes changed at random (fixed seed), given to the
    converter and to the evaluator: each call succeeds or raises onnx_fp16.Error; nothing else
    escapes and nothing crashes (the test run's native module is built with ASan and UBSan)."""
    raw = example_model.SerializeToString()
    # Mostly in the header and the nodes, which come before the initializers' bulk.
    span = min(len(raw), 4096)
    rng = random.Random(20261205)
    refused = 0
    for _ in range(100):
        blob = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            blob[rng.randrange(span)] = rng.randrange(256)
        for call in (float16.convert_float_to_float16, onnx_fp16.Evaluator):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # shape inference failing on a corrupted graph
                    call(bytes(blob))
            except onnx_fp16.Error:
                refused += 1
    assert refused > 20  # the corruptions do reach the error paths


def spec_clamp(values, min_positive_val, max_finite_val):
    """The spec's clamping rule, written with numpy in float32: 0 < |x| < min -> +-min,
    max < |x| < inf -> +-max; 0, NaN, +-inf unchanged."""
    values = values.astype(np.float32)
    magnitude = np.abs(values)
    sign = np.sign(values)
    small = (magnitude > 0) & (magnitude < np.float32(min_positive_val))
    large = (magnitude > np.float32(max_finite_val)) & np.isfinite(magnitude)
    result = np.where(small, sign * np.float32(min_positive_val), values)
    return np.where(large, sign * np.float32(max_finite_val), result).astype(np.float32)


def test_convert_np_to_float16_follows_the_spec_rule():
    rng = np.random.default_rng(7)
    values = np.concatenate([
        rng.normal(size=1000).astype(np.float32) * np.float32(10.0) ** rng.integers(-12, 8, size=1000),
        np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-7, -1e-7, 1e4, -1e4, 5.96e-8, 65504.0, 65520.0],
                 dtype=np.float32),
    ]).astype(np.float32)
    got = float16.convert_np_to_float16(values)
    expected = spec_clamp(values, 1e-7, 1e4).astype(np.float16)
    assert got.dtype == np.float16 and got.shape == values.shape
    np.testing.assert_array_equal(got.view(np.uint16)[~np.isnan(values)], expected.view(np.uint16)[~np.isnan(values)])
    assert np.isnan(got[np.isnan(values)]).all()
    custom = float16.convert_np_to_float16(values.reshape(4, -1)[:, ::3], min_positive_val=1e-3, max_finite_val=50.0)
    np.testing.assert_array_equal(custom, spec_clamp(values.reshape(4, -1)[:, ::3], 1e-3, 50.0).astype(np.float16))


def test_convert_np_to_float16_is_bit_exact_with_the_converter():
    values = np.array([[1e-9, -3e-8, 0.1, 1e5], [-7e4, 2.5e-5, 3.14159, -1e-30]], dtype=np.float32)
    weight = numpy_helper.from_array(values, "w")
    node = helper.make_node("Add", ["x", "w"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 4])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    converted = float16.convert_float_to_float16(model, min_positive_val=1e-6, max_finite_val=2e4)
    stored = numpy_helper.to_array(converted.graph.initializer[0])
    np.testing.assert_array_equal(stored.view(np.uint16),
                                  float16.convert_np_to_float16(values, 1e-6, 2e4).view(np.uint16))


def test_convert_tensor_float_to_float16_converts_in_place():
    values = np.array([1e-9, 1.5, -7e4, 0.0], dtype=np.float32)
    tensor = numpy_helper.from_array(values, "t")
    result = float16.convert_tensor_float_to_float16(tensor)
    assert result is tensor and tensor.data_type == onnx.TensorProto.FLOAT16 and tensor.name == "t"
    np.testing.assert_array_equal(numpy_helper.to_array(tensor), float16.convert_np_to_float16(values))
    typed = helper.make_tensor("typed", onnx.TensorProto.FLOAT, [2], [0.5, 2e5])  # float_data, not raw_data
    float16.convert_tensor_float_to_float16(typed, max_finite_val=1e3)
    np.testing.assert_array_equal(numpy_helper.to_array(typed), np.array([0.5, 1e3], dtype=np.float16))
    ints = numpy_helper.from_array(np.array([1, 2], dtype=np.int64))
    before = ints.SerializeToString()
    assert float16.convert_tensor_float_to_float16(ints).SerializeToString() == before
    with pytest.raises(ValueError, match="TensorProto"):
        float16.convert_tensor_float_to_float16(values)


def test_model_path_variant_with_external_data(external_data_model, example_model, tmp_path):
    folder = external_data_model.parent
    digests = {p.name: file_digest(p) for p in folder.iterdir()}
    in_memory = float16.convert_float_to_float16(example_model)
    returned = float16.convert_float_to_float16_model_path(str(external_data_model))
    assert returned.SerializeToString() == in_memory.SerializeToString()

    out = tmp_path / "out" / "converted.onnx"
    out.parent.mkdir()
    result, report = float16.convert_float_to_float16_model_path(external_data_model, output_path=out,
                                                                 external_data="converted.data", return_report=True)
    assert result is None and report["options"]["external_data"] == "converted.data"
    assert (out.parent / "converted.data").stat().st_size > 0
    written = onnx.load(str(out))  # reads the external data back, and marks every tensor's data_location
    for tensor in written.graph.initializer:
        assert tensor.data_location == onnx.TensorProto.DEFAULT
        tensor.ClearField("data_location")
    assert written.SerializeToString() == in_memory.SerializeToString()
    assert {p.name: file_digest(p) for p in folder.iterdir()} == digests, "the input or its data changed"

    with pytest.raises(onnx_fp16.Error, match="input"):
        float16.convert_float_to_float16_model_path(external_data_model, output_path=external_data_model)
    with pytest.raises(onnx_fp16.Error, match="weights.data"):
        float16.convert_float_to_float16_model_path(external_data_model, output_path=folder / "other.onnx",
                                                    external_data="weights.data")
    assert {p.name: file_digest(p) for p in folder.iterdir()} == digests
    with pytest.raises(ValueError, match="output_path"):
        float16.convert_float_to_float16_model_path(external_data_model, external_data="x.data")


def test_converted_model_runs_in_onnx_runtime(example_model, sample, tmp_path, ort_run):
    path = tmp_path / "fp16.onnx"
    onnx.save(float16.convert_float_to_float16(example_model, keep_io_types=True), str(path))
    reference = onnx_fp16.Evaluator(example_model).run(sample)
    outputs = ort_run(path, sample)
    assert set(outputs) == set(reference)
    for name in ("logits", "feature_map"):
        np.testing.assert_allclose(outputs[name], reference[name], rtol=0.05, atol=0.05)


TESTDATA = "/usr/share/libonnx-testdata/data/node"


@pytest.mark.parametrize("case", ["test_layer_normalization_4d_axis0_expanded", "test_reshape_extended_dims"])
def test_value_info_is_what_the_originals_shape_inference_gives(case):
    # The original runs onnx.shape_inference.infer_shapes(model) with its defaults (no data
    # propagation). With data propagation the first model's SuffixShape would get dims [4]
    # instead of a symbolic one: the shapes must be the original's, only float types change.
    path = f"{TESTDATA}/{case}/model.onnx"
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        pytest.skip(f"libonnx-testdata is not installed ({path})")
    expected = {vi.name: vi.type.tensor_type.shape for vi in onnx.shape_inference.infer_shapes(model).graph.value_info}
    converted = float16.convert_float_to_float16(model)
    actual = {vi.name: vi.type.tensor_type.shape for vi in converted.graph.value_info}
    assert actual == expected
