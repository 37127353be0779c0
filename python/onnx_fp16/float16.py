"""Float16 conversion: onnxconverter-common's ``float16`` module, same names, arguments and
defaults, over onnx-fp16's converter.

Differences from the original (docs/python.md): the model passed in is never modified (a new
ModelProto is returned); every result passes the ONNX checker and loads in ONNX Runtime; options
that match nothing in the model are reported as :class:`onnx_fp16.ConversionWarning`.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from . import _native
from ._common import (conversion_options, emit_warnings, model_like, model_source, path_argument,
                      positive_finite, report_from)

#: Op types left in float32 by default: those ONNX Runtime has no float16 kernel for (the spec's list).
DEFAULT_OP_BLOCK_LIST = list(_native.default_op_block_list())

_DEFAULT_MIN_POSITIVE = 1e-7
_DEFAULT_MAX_FINITE = 1e4


def _convert(model: Any, min_positive_val: float, max_finite_val: float, keep_io_types: Union[bool, Sequence[str]],
             disable_shape_infer: bool, op_block_list: Optional[Iterable[str]], node_block_list: Optional[Iterable[str]],
             target: str, force: bool, output_path: Optional[str], external_data: Optional[str]):
    options = conversion_options(min_positive_val, max_finite_val, keep_io_types, disable_shape_infer, op_block_list,
                                 node_block_list, target, force)
    clamp_given = min_positive_val != _DEFAULT_MIN_POSITIVE or max_finite_val != _DEFAULT_MAX_FINITE
    source, label = model_source(model)
    data, report_text = _native.convert(source, options, clamp_given, output_path, external_data, label)
    report = report_from(report_text)
    emit_warnings(report, stacklevel=4)
    return (None if data is None else model_like(model, data)), report


def convert_float_to_float16(model: Any, min_positive_val: float = 1e-7, max_finite_val: float = 1e4,
                             keep_io_types: Union[bool, Sequence[str]] = False, disable_shape_infer: bool = False,
                             op_block_list: Optional[Iterable[str]] = None,
                             node_block_list: Optional[Iterable[str]] = None, *, target: str = "float16",
                             force: bool = False, return_report: bool = False):
    """Converts a float32 model to float16 (or bfloat16) and returns the new model.

    Args:
        model: an ``onnx.ModelProto`` (not modified), serialized model bytes, or a path (external
            data is read from beside it).
        min_positive_val, max_finite_val: float16 constants are clamped into these bounds
            (magnitudes between 0 and min_positive_val become min_positive_val, between
            max_finite_val and inf become max_finite_val); 0, NaN and +-inf are unchanged.
        keep_io_types: True keeps the graph's float inputs and outputs float32 (casts at the
            boundary); a list of names keeps only those.
        disable_shape_infer: types come from the model and the operator schemas, without ONNX
            shape inference.
        op_block_list: op types left in float32; None means :data:`DEFAULT_OP_BLOCK_LIST`, an
            empty list blocks nothing.
        node_block_list: node names left in float32.
        target: "float16" or "bfloat16" (bfloat16 has float32's range: nothing is clamped).
        force: convert a model that already holds float16 (refused otherwise, as the original does).
        return_report: also return the conversion report, a dict as ``onnx-fp16 convert
            --report`` writes it (kept nodes and why, casts, clamped values, bytes, time).

    Returns:
        The converted ``onnx.ModelProto`` (of the caller's own onnx package when a ModelProto
        was given), or ``(model, report)`` with ``return_report``.

    Raises:
        onnx_fp16.Error: the model cannot be converted (the message names the tensor or node).
        ValueError, TypeError: a bad argument.
    """
    converted, report = _convert(model, min_positive_val, max_finite_val, keep_io_types, disable_shape_infer,
                                 op_block_list, node_block_list, target, force, None, None)
    return (converted, report) if return_report else converted


def convert_float_to_float16_model_path(model_path: str, min_positive_val: float = 1e-7, max_finite_val: float = 1e4,
                                        keep_io_types: Union[bool, Sequence[str]] = False,
                                        disable_shape_infer: bool = False,
                                        op_block_list: Optional[Iterable[str]] = None,
                                        node_block_list: Optional[Iterable[str]] = None, *,
                                        output_path: Optional[str] = None, external_data: Optional[str] = None,
                                        target: str = "float16", force: bool = False, return_report: bool = False):
    """:func:`convert_float_to_float16` for a model given by its path, for models over protobuf's
    2 GB limit (their weights in external data files).

    Without ``output_path`` the converted model is returned as a ModelProto, as the original does
    (it must then fit in 2 GB). With ``output_path`` it is written there instead (atomically; the
    input and its data files are never overwritten) and None is returned: tensors go to
    ``external_data`` (a file name beside the output) when given, or to "<output>.data"
    automatically when the model would exceed 2 GB. ``return_report`` returns ``(result, report)``.
    """
    if external_data is not None and output_path is None:
        raise ValueError("external_data needs output_path: only a written model can have external data")
    converted, report = _convert(path_argument(model_path, "model_path"), min_positive_val, max_finite_val, keep_io_types,
                                 disable_shape_infer, op_block_list, node_block_list, target, force,
                                 None if output_path is None else path_argument(output_path, "output_path"), external_data)
    return (converted, report) if return_report else converted


def convert_np_to_float16(np_array: Any, min_positive_val: float = 1e-7, max_finite_val: float = 1e4) -> np.ndarray:
    """The values as numpy.float16, clamped as the converter clamps constants (bit-exact with it):
    magnitudes between 0 and min_positive_val become min_positive_val, between max_finite_val and
    inf become max_finite_val, then each value is rounded to the nearest float16. Values are taken
    as float32, the type the converter sees."""
    values = np.ascontiguousarray(np.asarray(np_array, dtype=np.float32))
    bits = _native.float16_bits(values, positive_finite(min_positive_val, "min_positive_val"),
                                positive_finite(max_finite_val, "max_finite_val"))
    return bits.view(np.float16)


def convert_tensor_float_to_float16(tensor: Any, min_positive_val: float = 1e-7, max_finite_val: float = 1e4):
    """Converts a float32 ``onnx.TensorProto`` to float16 in place, as the original does, and
    returns it; a tensor of another type is returned unchanged. Values are clamped as by
    :func:`convert_np_to_float16` and stored in raw_data."""
    if type(tensor).__name__ != "TensorProto" or not hasattr(tensor, "SerializeToString"):
        raise ValueError(f"Expected input type is an ONNX TensorProto but got {type(tensor).__name__}")
    if tensor.data_type != 1:  # onnx.TensorProto.FLOAT
        return tensor
    converted = _native.convert_tensor(tensor.SerializeToString(), positive_finite(min_positive_val, "min_positive_val"),
                                       positive_finite(max_finite_val, "max_finite_val"))
    tensor.Clear()
    tensor.ParseFromString(converted)
    return tensor

