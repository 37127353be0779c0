"""onnx_fp16: float32 ONNX models to float16, bfloat16 and mixed precision.

A drop-in for onnxconverter-common's ``float16`` and ``auto_mixed_precision`` modules: change
the import and the spec's code runs as written::

    import onnx
    from onnx_fp16 import float16, auto_mixed_precision

    model = onnx.load("model.onnx")
    model_fp16 = float16.convert_float_to_float16(model)
    model_mixed = auto_mixed_precision.auto_convert_mixed_precision(
        model, feed_dict, rtol=0.01, atol=0.001, keep_io_types=True)

Beyond the spec: :class:`Evaluator` runs a model on the CPU with float16 stored as float16 (as a
GPU stores it), and :func:`inspect` gives the precision census of a model. Models cross into the
C++ library as serialized bytes or as paths, so any version of the ``onnx`` package works; the
model objects passed in are never modified. Failures raise :class:`Error` with a message that
names the file, tensor or node; bad arguments raise ``ValueError`` or ``TypeError``.
"""

from ._native import Error

Error.__module__ = __name__  # shown as onnx_fp16.Error in tracebacks
from ._common import ConversionWarning
from ._evaluator import Evaluator, inspect
from . import float16, auto_mixed_precision

__version__ = "0.1.0"

__all__ = ["Error", "ConversionWarning", "Evaluator", "inspect", "float16", "auto_mixed_precision", "__version__"]
