"""What the public modules share: turning model and array arguments into what the native layer
takes, and reporting back (warnings, progress)."""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from typing import Any, Iterable, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

ModelArg = Union["onnx.ModelProto", bytes, str, "os.PathLike[str]"]  # noqa: F821


class ConversionWarning(UserWarning):
    """An option that matched nothing in the model, or a note from the conversion (the CLI's
    ``warning:`` lines)."""


def path_argument(value: Any, argument: str) -> str:
    """A str or os.PathLike argument as a str path; TypeError for anything else."""
    path = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(path, str):
        raise TypeError(f"{argument}: expected a path (str or os.PathLike), got {type(value).__name__}")
    return path


def model_source(model: Any, argument: str = "model") -> Tuple[Union[bytes, str], str]:
    """The model as the native layer takes it (bytes or a path) and a label for reports."""
    if isinstance(model, (str, os.PathLike)):
        path = path_argument(model, argument)
        return path, path
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    serialize = getattr(model, "SerializeToString", None)
    if serialize is None or type(model).__name__ != "ModelProto":
        raise TypeError(f"{argument}: expected an onnx.ModelProto, serialized model bytes or a path, "
                        f"got {type(model).__name__}")
    try:
        data = serialize()
    except ValueError as error:  # protobuf refuses to serialize a message over 2 GB
        raise ValueError(f"{argument}: the model cannot be serialized ({error}); save it with external "
                         "data (onnx.save(..., save_as_external_data=True)) and pass its path") from error
    return data, "<ModelProto>"


def model_like(template: Any, data: bytes) -> Any:
    """`data` parsed into a new ModelProto of the same class as `template` (the caller's own onnx
    package), or of the installed onnx package when the caller gave bytes or a path."""
    if type(template).__name__ == "ModelProto" and hasattr(template, "ParseFromString"):
        result = type(template)()
    else:
        import onnx  # only needed to build a ModelProto for a caller who gave bytes or a path
        result = onnx.ModelProto()
    result.ParseFromString(data)
    return result


def name_list(value: Optional[Iterable[str]], argument: str) -> Optional[list]:
    """None, or a list of str (a lone str is refused: it would be read as its characters)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{argument}: expected a list of names, got a single string {value!r}")
    names = list(value)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{argument}: expected names (str), got {type(name).__name__}")
    return names


def positive_finite(value: Any, argument: str) -> float:
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{argument} must be a positive finite number, got {value!r}")
    return number


def target_name(target: str) -> str:
    if target not in ("float16", "bfloat16"):
        raise ValueError(f"target must be 'float16' or 'bfloat16', got {target!r}")
    return target


def conversion_options(min_positive_val: float, max_finite_val: float, keep_io_types: Union[bool, Sequence[str]],
                       disable_shape_infer: bool, op_block_list: Optional[Iterable[str]],
                       node_block_list: Optional[Iterable[str]], target: str, force: bool) -> dict:
    """The conversion options as the native layer's dict, every argument checked."""
    if isinstance(keep_io_types, (bool, np.bool_)):
        keep_all, keep_names = bool(keep_io_types), []
    else:
        keep_all, keep_names = False, name_list(keep_io_types, "keep_io_types")
    return {
        "target": target_name(target),
        "min_positive_val": positive_finite(min_positive_val, "min_positive_val"),
        "max_finite_val": positive_finite(max_finite_val, "max_finite_val"),
        "keep_io_types": keep_all,
        "keep_io_names": keep_names,
        "disable_shape_infer": bool(disable_shape_infer),
        "op_block_list": name_list(op_block_list, "op_block_list"),
        "node_block_list": name_list(node_block_list, "node_block_list") or [],
        "force": bool(force),
    }


def as_array(value: Any, what: str) -> np.ndarray:
    """A numpy array the native layer can copy: C-contiguous, native byte order."""
    array = np.asarray(value)
    kind = array.dtype.kind
    if kind in "fiub":
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        # ascontiguousarray returns at least one dimension: a scalar keeps its rank 0.
        return np.ascontiguousarray(array).reshape(array.shape)
    if kind in "USO":
        return array
    raise ValueError(f"{what}: numpy dtype {array.dtype} has no ONNX tensor type")


def as_feeds(feeds: Mapping[str, Any], what: str) -> dict:
    if not isinstance(feeds, Mapping):
        raise TypeError(f"{what}: expected a dict of input name -> numpy array, got {type(feeds).__name__}")
    result = {}
    for name, value in feeds.items():
        if not isinstance(name, str):
            raise TypeError(f"{what}: input names must be str, got {name!r}")
        result[name] = as_array(value, f"{what} input '{name}'")
    return result


def report_from(text: str) -> dict:
    """A report as the CLI writes it (docs/cli.md), with "inf" read back as infinity."""
    def infinite(value):
        return float("inf") if value == "inf" else value

    report = json.loads(text)
    for margin in report.get("margins", []):
        for key, value in margin.items():
            margin[key] = infinite(value)
    for node in report.get("kept", []):
        for key in ("sensitivity", "output_effect"):
            if key in node:
                node[key] = infinite(node[key])
    return report


def emit_warnings(report: dict, stacklevel: int = 3) -> None:
    for message in report.get("warnings", []):
        warnings.warn(message, ConversionWarning, stacklevel=stacklevel)


def print_progress(line: str, attempt: int) -> None:
    print(line, file=sys.stderr, flush=True)
