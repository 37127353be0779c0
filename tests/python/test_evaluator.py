"""onnx_fp16.Evaluator and onnx_fp16.inspect: the extras beyond the spec."""

import json

import numpy as np
import onnx
import pytest
from onnx import helper

import onnx_fp16
from onnx_fp16 import float16


def add_model(elem_type, shape=(2, 3)):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Mul", ["sum", "a"], ["y"])], "g",
        [helper.make_tensor_value_info("a", elem_type, list(shape)), helper.make_tensor_value_info("b", elem_type, list(shape))],
        [helper.make_tensor_value_info("y", elem_type, list(shape))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_float16_stays_float16_and_is_rounded_per_node():
    a = np.array([[1.0, 129.0, 0.1], [3.0, -5.5, 1e-3]], dtype=np.float16)
    b = np.array([[1.0, 1.0, 0.2], [0.25, 2.0, 1e-3]], dtype=np.float16)
    outputs = onnx_fp16.Evaluator(add_model(onnx.TensorProto.FLOAT16)).run({"a": a, "b": b})
    assert list(outputs) == ["y"] and outputs["y"].dtype == np.float16
    expected = ((a.astype(np.float32) + b).astype(np.float16).astype(np.float32) * a).astype(np.float16)
    np.testing.assert_array_equal(outputs["y"], expected)


def test_non_contiguous_and_foreign_byte_order_inputs():
    evaluator = onnx_fp16.Evaluator(add_model(onnx.TensorProto.FLOAT), keep=["sum"])
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = base[:2, ::2]  # a strided view
    b = np.asfortranarray(np.ones((2, 2), dtype=np.float32) * 3)
    assert not a.flags.c_contiguous
    small = onnx_fp16.Evaluator(add_model(onnx.TensorProto.FLOAT, (2, 2)), keep=["sum"])
    outputs = small.run({"a": a, "b": b.astype(">f4")})
    np.testing.assert_array_equal(outputs["y"], (np.ascontiguousarray(a) + 3) * a)
    np.testing.assert_array_equal(outputs["sum"], np.ascontiguousarray(a) + 3)
    assert evaluator.output_names == ["y"]
    assert evaluator.inputs[0] == {"name": "a", "type": "FLOAT", "shape": (2, 3), "has_default": False}


def test_feed_errors_name_the_input():
    evaluator = onnx_fp16.Evaluator(add_model(onnx.TensorProto.FLOAT))
    a = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(onnx_fp16.Error, match="'b'"):
        evaluator.run({"a": a})
    with pytest.raises(onnx_fp16.Error, match="'a'.*FLOAT"):
        evaluator.run({"a": a.astype(np.int32), "b": a})
    with pytest.raises(ValueError, match="complex"):
        evaluator.run({"a": a.astype(np.complex64), "b": a})
    with pytest.raises(TypeError, match="dict"):
        evaluator.run([a, a])


def test_unsupported_operator_is_named():
    graph = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"], name="mystery", domain="example.com")], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("example.com", 1)])
    with pytest.raises(onnx_fp16.Error, match="mystery"):
        onnx_fp16.Evaluator(model)


def test_resource_limits_raise_naming_the_node():
    fill = helper.make_node("ConstantOfShape", ["shape"], ["y"], name="fill",
                            value=helper.make_tensor("value", onnx.TensorProto.FLOAT, [1], [1.0]))
    graph = helper.make_graph([fill], "g", [], [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                              initializer=[helper.make_tensor("shape", onnx.TensorProto.INT64, [2], [1000, 1000])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert onnx_fp16.Evaluator(model).run({})["y"].shape == (1000, 1000)
    with pytest.raises(onnx_fp16.Error, match=r"'fill'.*needs 4\.0 MB, over the memory limit of 1\.0 MB"):
        onnx_fp16.Evaluator(model, memory_limit=1_000_000).run({})
    with pytest.raises(ValueError, match="memory_limit"):
        onnx_fp16.Evaluator(model, memory_limit=-1)


def test_release_cached_memory_gives_back_what_runs_freed():
    square = helper.make_node("MatMul", ["x", "x"], ["m"], name="square")  # 256 KB, freed after the Relu
    relu = helper.make_node("Relu", ["m"], ["y"], name="relu")
    graph = helper.make_graph([square, relu], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [256, 256])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [256, 256])])
    evaluator = onnx_fp16.Evaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    x = (np.arange(256 * 256, dtype=np.float32).reshape(256, 256) % 7) - 3
    onnx_fp16.Evaluator.release_cached_memory()
    first = evaluator.run({"x": x})["y"]
    assert onnx_fp16.Evaluator.release_cached_memory() >= 256 * 256 * 4
    assert onnx_fp16.Evaluator.release_cached_memory() == 0
    np.testing.assert_array_equal(evaluator.run({"x": x})["y"], first)


def test_integer_and_bool_dtypes_round_trip():
    graph = helper.make_graph([helper.make_node("Identity", ["i"], ["o"]), helper.make_node("Not", ["b"], ["nb"])], "g",
                              [helper.make_tensor_value_info("i", onnx.TensorProto.INT64, [3]),
                               helper.make_tensor_value_info("b", onnx.TensorProto.BOOL, [2])],
                              [helper.make_tensor_value_info("o", onnx.TensorProto.INT64, [3]),
                               helper.make_tensor_value_info("nb", onnx.TensorProto.BOOL, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    outputs = onnx_fp16.Evaluator(model).run({"i": np.array([1, -2, 2**40]), "b": np.array([True, False])})
    np.testing.assert_array_equal(outputs["o"], [1, -2, 2**40])
    np.testing.assert_array_equal(outputs["nb"], [False, True])


def test_a_scalar_input_stays_a_scalar():
    # numpy's ascontiguousarray gives a 0-d array one dimension; a rank-0 input must keep rank 0
    # (Silero VAD's sample rate, an int64 scalar, was refused as shape [1]), a strided or foreign
    # byte order one included.
    graph = helper.make_graph([helper.make_node("Mul", ["x", "k"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, []),
                               helper.make_tensor_value_info("k", onnx.TensorProto.FLOAT, [])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    outputs = onnx_fp16.Evaluator(model).run({"x": np.array(3.0, dtype=np.float32), "k": np.array(2.0, dtype=">f4")})
    assert outputs["y"].shape == () and outputs["y"] == 6.0


def test_inspect_matches_the_cli(example_files, cli):
    converted = float16.convert_float_to_float16(onnx.load(str(example_files[0])), keep_io_types=True)
    census = onnx_fp16.inspect(converted)
    path = example_files[0].parent / "inspect_fp16.onnx"
    onnx.save(converted, str(path))
    cli_census = json.loads(cli("inspect", path, "--json").stdout)
    del census["model"], cli_census["model"]
    assert census == cli_census
    assert census["nodes_by_precision"]["float32"]["TopK"] == 1
    assert census["casts_by_target"]["float16"] >= 1


def test_a_model_object_its_bytes_and_its_path_run_alike(example_files, example_model, sample):
    # A ModelProto goes to the native layer as its bytes, whose weights (8 of the example's are
    # 16-64 KB) are read straight into the evaluator's tensors, as a path's are from the file.
    from_path = onnx_fp16.Evaluator(str(example_files[0]), threads=2).run(sample)
    from_object = onnx_fp16.Evaluator(example_model, threads=2).run(sample)
    from_bytes = onnx_fp16.Evaluator(example_model.SerializeToString(), threads=1).run(sample)
    assert list(from_object) == list(from_path) == list(from_bytes)
    for name in from_path:
        np.testing.assert_array_equal(from_object[name], from_path[name])
        np.testing.assert_array_equal(from_bytes[name], from_path[name])
    with pytest.raises(onnx_fp16.Error, match="not an ONNX model"):
        onnx_fp16.Evaluator(b"\xff\xff\xff\xff not a model")
