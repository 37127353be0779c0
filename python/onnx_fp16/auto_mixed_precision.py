"""Automatic mixed precision: onnxconverter-common's ``auto_mixed_precision`` module, same names,
arguments and defaults, over onnx-fp16's search.

It needs no GPU: candidates run on onnx-fp16's CPU evaluator, which stores float16 as a GPU
does, and (by default) a candidate must also hold under the spread of simulated other float16
implementations, so that the result holds on the user's GPU too (docs/mixed.md).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _native
from ._common import (as_array, as_feeds, conversion_options, model_like, model_source, name_list, path_argument,
                      print_progress, report_from)

ValidateFn = Callable[[List[np.ndarray], List[np.ndarray]], bool]
# runner(model_bytes, samples) -> per sample, the outputs in graph output order.
Runner = Callable[[bytes, List[Dict[str, np.ndarray]]], Sequence[Sequence[Any]]]
# ONNX Runtime providers that run float16 on a GPU: given one, the model-path function judges
# candidates there, as the original did.
_GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider", "ROCMExecutionProvider",
                  "MIGraphXExecutionProvider", "DmlExecutionProvider")
# The search's tunable defaults (variants, variant_spread, spread_safety, sensitivity_budget,
# search_budget, holdout), as the library and the CLI have them.
_SEARCH_DEFAULTS = dict(_native.mixed_defaults())
_MAX_HOLDOUT = _SEARCH_DEFAULTS.pop("max_holdout")  # a bound, not an argument's default
Samples = Union[Mapping[str, Any], Sequence[Mapping[str, Any]]]


def _samples(feed_dict: Samples) -> list:
    if isinstance(feed_dict, Mapping):
        return [as_feeds(feed_dict, "feed_dict")]
    if isinstance(feed_dict, (list, tuple)) and feed_dict:
        return [as_feeds(feeds, f"feed_dict[{i}]") for i, feeds in enumerate(feed_dict)]
    raise TypeError("feed_dict: expected a dict of input name -> numpy array, or a non-empty list of such dicts")


def _tolerance(value: Optional[float], argument: str) -> Optional[float]:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{argument} must be a finite number >= 0, got {value!r}")
    return number


def _checked_runner(runner: Optional[Runner]):
    """runner wrapped for the native layer: its outputs checked (a list per sample) and made
    arrays the native layer can copy."""
    if runner is None:
        return None
    if not callable(runner):
        raise TypeError(f"runner must be callable, got {type(runner).__name__}")

    def run(model_bytes: bytes, samples: list) -> list:
        outputs = runner(model_bytes, samples)
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(samples):
            raise ValueError(f"runner must return one list of outputs per sample ({len(samples)}), got {outputs!r:.80}")
        return [[as_array(array, f"runner output {o} of sample {s}") for o, array in enumerate(per_sample)]
                for s, per_sample in enumerate(outputs)]
    return run


def _onnxruntime_runner(provider: Any) -> Optional[Runner]:
    """The original ran candidates on ONNX Runtime with `provider`. Given a GPU provider that
    this machine's onnxruntime has, so does this: the GPU judges every candidate. Otherwise the
    evaluator does (ONNX Runtime's CPU path computes float16 largely in float32, so it would
    judge wrongly: docs/mixed.md), with a warning when a GPU was asked for but is not there."""
    entries = [provider] if isinstance(provider, str) else list(provider or [])
    names = [entry if isinstance(entry, str) else entry[0] for entry in entries]
    wanted = [name for name in names if name in _GPU_PROVIDERS]
    if not wanted:
        return None
    try:
        import onnxruntime
    except ImportError:
        warnings.warn(f"provider {wanted[0]} asked for, but onnxruntime is not installed: candidates run on "
                      "onnx-fp16's evaluator", stacklevel=3)
        return None
    if not set(wanted) & set(onnxruntime.get_available_providers()):
        warnings.warn(f"provider {wanted[0]} asked for, but this onnxruntime has none of {wanted}: candidates "
                      "run on onnx-fp16's evaluator", stacklevel=3)
        return None

    def run(model_bytes: bytes, samples: list) -> list:
        session = onnxruntime.InferenceSession(model_bytes, providers=entries)
        output_names = [output.name for output in session.get_outputs()]
        return [session.run(output_names, feeds) for feeds in samples]
    return run


def _search(model: Any, feed_dict: Samples, validate_fn: Optional[ValidateFn], rtol: Optional[float],
            atol: Optional[float], keep_io_types: Union[bool, Sequence[str]], verbose: bool, output_path: Optional[str],
            location: Optional[str], extras: dict):
    if validate_fn is not None and not callable(validate_fn):
        raise TypeError(f"validate_fn must be callable, got {type(validate_fn).__name__}")
    rtol, atol = _tolerance(rtol, "rtol"), _tolerance(atol, "atol")
    if rtol is None and atol is None and validate_fn is None:
        raise ValueError("give rtol and/or atol, or validate_fn: without them no candidate can be judged")
    strategy = extras.pop("strategy")
    if strategy not in ("improved", "baseline"):
        raise ValueError(f"strategy must be 'improved' or 'baseline', got {strategy!r}")
    variants = int(extras.pop("variants"))
    if variants < 0:
        raise ValueError(f"variants must be >= 0, got {variants}")
    spread = float(extras.pop("variant_spread"))
    if not 0 < spread <= 2.0 ** -13:
        raise ValueError(f"variant_spread must be in (0, 2**-13], got {spread!r}")
    safety = float(extras.pop("spread_safety"))
    if not math.isfinite(safety) or safety < 1:
        raise ValueError(f"spread_safety must be a finite number >= 1, got {safety!r}")
    holdout = extras.pop("holdout")  # None: a tenth of the search's full runs, 4 to 16 (fewer if clear)
    if holdout is not None:
        holdout = int(holdout)
        if not 0 <= holdout <= _MAX_HOLDOUT:
            raise ValueError(f"holdout must be between 0 and {_MAX_HOLDOUT}, got {holdout}")
    budget = float(extras.pop("sensitivity_budget"))
    if not math.isfinite(budget) or budget < 0:
        raise ValueError(f"sensitivity_budget must be a finite number >= 0, got {budget!r}")
    search_budget = float(extras.pop("search_budget"))
    if not math.isfinite(search_budget) or search_budget < 0:
        raise ValueError(f"search_budget must be a finite number >= 0 (0: no limit), got {search_budget!r}")
    runner = _checked_runner(extras.pop("runner"))
    keep_node_pattern = extras.pop("keep_node_pattern")
    if not isinstance(keep_node_pattern, str):
        raise TypeError("keep_node_pattern must be a str (a regular expression)")
    options = {
        "conversion": conversion_options(extras.pop("min_positive_val"), extras.pop("max_finite_val"), keep_io_types,
                                         False, extras.pop("op_block_list"), extras.pop("node_block_list"),
                                         extras.pop("target"), False),
        "rtol": rtol,
        "atol": atol,
        "strategy": strategy,
        "search": bool(extras.pop("search")),
        "data_max": _tolerance(extras.pop("data_max"), "data_max"),
        "init_max": _tolerance(extras.pop("init_max"), "init_max"),
        "keep_ops": name_list(extras.pop("keep_ops"), "keep_ops") or [],
        "keep_node_pattern": keep_node_pattern,
        "float16_variants": variants,
        "variant_spread": spread,
        "spread_safety": safety,
        "holdout_variants": holdout,
        "sensitivity_budget": budget,
        "search_budget": search_budget,
        "skip_predicted_failures": bool(extras.pop("skip_predicted")),
        "threads": int(extras.pop("threads")),
    }
    assert not extras, extras
    samples = _samples(feed_dict)
    source, label = model_source(model)
    data, report_text = _native.auto_mixed(source, samples, options, validate_fn, print_progress if verbose else None,
                                           output_path, location, label, runner)
    return (None if data is None else model_like(model, data)), report_from(report_text)


def auto_convert_mixed_precision(model: Any, feed_dict: Samples, validate_fn: Optional[ValidateFn] = None,
                                 rtol: Optional[float] = None, atol: Optional[float] = None,
                                 keep_io_types: Union[bool, Sequence[str]] = False, *, verbose: bool = True,
                                 return_report: bool = False, target: str = "float16",
                                 strategy: str = "improved", variants: int = _SEARCH_DEFAULTS["variants"],
                                 variant_spread: float = _SEARCH_DEFAULTS["variant_spread"],
                                 spread_safety: float = _SEARCH_DEFAULTS["spread_safety"],
                                 holdout: Optional[int] = _SEARCH_DEFAULTS["holdout"],
                                 sensitivity_budget: float = _SEARCH_DEFAULTS["sensitivity_budget"],
                                 search_budget: float = _SEARCH_DEFAULTS["search_budget"],
                                 skip_predicted: bool = _SEARCH_DEFAULTS["skip_predicted"],
                                 op_block_list: Optional[Iterable[str]] = None,
                                 node_block_list: Optional[Iterable[str]] = None, min_positive_val: float = 1e-7,
                                 max_finite_val: float = 1e4, data_max: Optional[float] = None,
                                 init_max: Optional[float] = None, keep_ops: Iterable[str] = (),
                                 keep_node_pattern: str = "", search: bool = True, threads: int = 0,
                                 runner: Optional[Runner] = None):
    """Converts as many nodes to float16 as the tolerance allows and keeps the rest in float32.

    Args:
        model: an ``onnx.ModelProto`` (not modified), serialized bytes, or a path.
        feed_dict: one sample, a dict of input name -> numpy array, or a list of such dicts.
        validate_fn: ``validate_fn(res, fp16res)`` receives the float32 model's outputs and a
            candidate's, as lists of numpy arrays in graph output order, and returns True when the
            candidate is acceptable. Used instead of, or together with, rtol/atol.
        rtol, atol: ``numpy.allclose(float32_output, candidate_output, rtol, atol)`` for every output
            and sample. Only atol given: rtol = 1e-5; only rtol: atol = 1e-8.
        keep_io_types: keep the graph's inputs and outputs float32 (True, or a list of names).
        verbose: print the search's progress lines on stderr, as the CLI does.
        return_report: also return the report, a dict as ``onnx-fp16 auto-mixed --report`` writes
            it (kept nodes with reason and error, attempts, margins, FLOP shares).
        target, strategy, variants, variant_spread, spread_safety, holdout, sensitivity_budget, search_budget,
        skip_predicted,
        op_block_list, node_block_list, min_positive_val, max_finite_val, data_max, init_max, keep_ops,
        keep_node_pattern, search, threads: the CLI's options of the same names (docs/cli.md, docs/mixed.md).
        runner: ``runner(model_bytes, samples)`` runs a model (the float32 reference and every
            candidate, serialized) on every sample (a list of dicts of input arrays) and returns,
            per sample, its outputs in graph output order: the runtime you deploy on judges
            instead of the evaluator, as the CLI's ``--validate-cmd`` (the simulated
            implementations are then not used; ``tools/gpu_check/judge.py`` shows one on a GPU).

    Returns:
        The mixed-precision ``onnx.ModelProto``, or ``(model, report)`` with ``return_report``.

    Raises:
        onnx_fp16.Error: a sample does not fit the model, the float32 model fails its own
            validation, or even the all-float32 candidate fails (the message says why).
        KeyboardInterrupt: Ctrl-C, between two attempts.
    """
    extras = dict(target=target, strategy=strategy, variants=variants, variant_spread=variant_spread,
                  spread_safety=spread_safety, holdout=holdout, sensitivity_budget=sensitivity_budget,
                  search_budget=search_budget,
                  skip_predicted=skip_predicted,
                  op_block_list=op_block_list,
                  node_block_list=node_block_list,
                  min_positive_val=min_positive_val, max_finite_val=max_finite_val, data_max=data_max,
                  init_max=init_max, keep_ops=keep_ops, keep_node_pattern=keep_node_pattern, search=search,
                  threads=threads, runner=runner)
    result, report = _search(model, feed_dict, validate_fn, rtol, atol, keep_io_types, verbose, None, None, extras)
    return (result, report) if return_report else result


def auto_convert_mixed_precision_model_path(source_model_path: str, input_feed: Samples, target_model_path: str,
                                            provider: Any = None, location: Optional[str] = None,
                                            customized_validate_func: Optional[ValidateFn] = None,
                                            rtol: Optional[float] = None, atol: Optional[float] = None,
                                            keep_io_types: Union[bool, Sequence[str]] = True, verbose: bool = False,
                                            *, return_report: bool = False, **options: Any):
    """:func:`auto_convert_mixed_precision` from a path to a path, for models over protobuf's 2 GB
    limit, with the original's signature. The result is written to ``target_model_path``
    (atomically; the source and its data files are never overwritten), its tensors in the external
    data file ``location`` (a file name beside it) when given, or in "<target>.data" automatically
    over 2 GB. ``provider``: as in the original, candidates run on ONNX Runtime with it when it
    names a GPU provider (CUDA, TensorRT, ROCm, MIGraphX, DirectML) that the installed onnxruntime
    has; otherwise (CPU, none, or no such onnxruntime: a warning) on onnx-fp16's evaluator, which
    is faithful to float16 storage where ONNX Runtime's CPU path is not. Further keyword options
    are those of :func:`auto_convert_mixed_precision`.
    Returns None, or the report with ``return_report``.
    """
    source = path_argument(source_model_path, "source_model_path")
    target = path_argument(target_model_path, "target_model_path")
    defaults = dict(target="float16", strategy="improved", **_SEARCH_DEFAULTS, op_block_list=None, node_block_list=None, min_positive_val=1e-7, max_finite_val=1e4,
                    data_max=None, init_max=None, keep_ops=(), keep_node_pattern="", search=True, threads=0,
                    runner=None)
    unknown = set(options) - set(defaults)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    defaults.update(options)
    if defaults["runner"] is None:
        defaults["runner"] = _onnxruntime_runner(provider)
    _, report = _search(source, input_feed, customized_validate_func, rtol, atol, keep_io_types, verbose, target,
                        location, defaults)
    return report if return_report else None
