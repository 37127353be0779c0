"""Automatic mixed precision: onnxconverter-common's ``auto_mixed_precision`` module, same names,
arguments and defaults, over onnx-fp16's search.

It needs no GPU: candidates run on onnx-fp16's CPU evaluator, which stores float16 as a GPU
does, and (by default) a candidate must also hold under the spread of simulated other float16
implementations, so that the result holds on the user's GPU too (docs/mixed.md).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Union

import numpy as np

from . import _native
from ._common import (as_feeds, conversion_options, model_like, model_source, name_list, path_argument,
                      print_progress, report_from)

ValidateFn = Callable[[List[np.ndarray], List[np.ndarray]], bool]
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
    holdout = extras.pop("holdout")  # None: as many as a tenth of the search's full runs, 4 to 16
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
                                           output_path, location, label)
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
                                 keep_node_pattern: str = "", search: bool = True, threads: int = 0):
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
                  threads=threads)
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
    over 2 GB. ``provider`` is accepted for compatibility and not used: candidates run on onnx-fp16's
    evaluator. Further keyword options are those of :func:`auto_convert_mixed_precision`.
    Returns None, or the report with ``return_report``.
    """
    del provider  # the original's ONNX Runtime execution providers: onnx-fp16 needs none
    source = path_argument(source_model_path, "source_model_path")
    target = path_argument(target_model_path, "target_model_path")
    defaults = dict(target="float16", strategy="improved", **_SEARCH_DEFAULTS, op_block_list=None, node_block_list=None, min_positive_val=1e-7, max_finite_val=1e4,
                    data_max=None, init_max=None, keep_ops=(), keep_node_pattern="", search=True, threads=0)
    unknown = set(options) - set(defaults)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    defaults.update(options)
    _, report = _search(source, input_feed, customized_validate_func, rtol, atol, keep_io_types, verbose, target,
                        location, defaults)
    return report if return_report else None
