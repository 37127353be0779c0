"""The evaluator and the census: onnx-fp16's extras beyond the spec."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

import numpy as np

from . import _native
from ._common import as_feeds, model_source, name_list, report_from


class Evaluator:
    """Runs an ONNX model on the CPU, float16 values stored as float16 (each float16 value a node
    writes is rounded to float16, as GPU runtimes that accumulate in float32 do)::

        evaluator = onnx_fp16.Evaluator(model)            # prepared once
        outputs = evaluator.run({"x": x})                 # {"y": numpy array}, run many times

    ``model`` is an ``onnx.ModelProto``, serialized bytes or a path. ``threads``: 0 uses every
    hardware thread; results do not depend on it. ``keep``: intermediate values to return too.
    ``memory_limit``: the most bytes one tensor, and the intermediate tensors alive at once, may
    take (0: the machine's physical memory); ``max_loop_iterations``: the most iterations one
    Loop may run (0: no limit). A model beyond either raises onnx_fp16.Error naming the node.
    """

    def __init__(self, model: Any, threads: int = 0, keep: Iterable[str] = (), *, memory_limit: int = 0,
                 max_loop_iterations: int = 100_000_000):
        if int(memory_limit) < 0 or int(max_loop_iterations) < 0:
            raise ValueError("memory_limit and max_loop_iterations must be >= 0")
        source, _ = model_source(model)
        self._native = _native.Evaluator(source, int(threads), name_list(keep, "keep") or [], int(memory_limit),
                                         int(max_loop_iterations))

    def run(self, feeds: Mapping[str, Any]) -> Dict[str, np.ndarray]:
        """The graph outputs (in graph order), then the values of ``keep``, by name. float16
        stays numpy.float16; bfloat16 comes back widened to float32. Raises onnx_fp16.Error for
        a missing, unknown, wrongly typed or shaped feed (naming the input) or a failing node."""
        return self._native.run(as_feeds(feeds, "feeds"))

    @property
    def inputs(self) -> List[dict]:
        """The graph inputs: name, type ("FLOAT16"...), shape (int, symbol or None per dimension;
        None for any rank) and has_default (an initializer of the same name)."""
        return self._native.inputs

    @property
    def output_names(self) -> List[str]:
        return list(self._native.output_names)

    @staticmethod
    def release_cached_memory() -> int:
        """Gives back to the system the tensor buffers runs freed and the evaluator keeps for the
        next run (process-wide, shared by every evaluator, at most 1 GiB or a sixteenth of
        physical memory) and returns how many bytes that was. Evaluators keep working; their
        next run allocates again. For a long session done with evaluating for a while."""
        return int(_native.Evaluator.release_cached_memory())


def inspect(model: Any) -> dict:
    """The precision census of a model as ``onnx-fp16 inspect --json`` prints it: nodes per
    precision and op type, casts by target type, tensors and initializer bytes per element type."""
    source, label = model_source(model)
    return report_from(_native.census(source, label))
