"""tools/gpu_check/tolerance.py, the tolerance test the GPU check and the benchmarks judge the
search's results with: it must be the search's own, numpy.allclose(float32_output,
candidate_output, rtol, atol), element by element, NaN included."""
import importlib.util

import numpy as np

from conftest import SOURCE_DIR

_spec = importlib.util.spec_from_file_location("tolerance", SOURCE_DIR / "tools" / "gpu_check" / "tolerance.py")
tolerance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tolerance)


def test_ratios_pass_exactly_where_numpy_isclose_does():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=4000).astype(np.float32)
    candidate = (reference * (1 + rng.normal(scale=0.01, size=reference.size)) +
                 rng.normal(scale=0.001, size=reference.size)).astype(np.float32)
    candidate[:3] = [np.nan, np.inf, reference[2]]
    ratios = tolerance.tolerance_ratios({"y": reference}, {"y": candidate}, 0.01, 0.001)["y"]
    close = np.isclose(reference.astype(np.float64), candidate.astype(np.float64), rtol=0.01, atol=0.001)
    near_boundary = np.abs(ratios - 1) < 1e-9  # rounding may tip an element that sits on the line
    assert np.array_equal((ratios <= 1)[~near_boundary], close[~near_boundary])
    assert 0 < np.count_nonzero(~close) < reference.size  # both verdicts occur
    worst, over, count = tolerance.judged({"y": reference}, {"y": candidate}, 0.01, 0.001)
    assert (worst, over, count) == (float(ratios.max()), int(np.count_nonzero(ratios > 1)), reference.size)


def test_rtol_scales_with_the_candidate_as_numpy_allclose_does():
    # |1 - 1.0101| = 0.0101: within 1% of the candidate's magnitude (0.010101), not of the reference's (0.01).
    reference, candidate = {"y": np.array([1.0])}, {"y": np.array([1.0101])}
    assert np.allclose(reference["y"], candidate["y"], rtol=0.01, atol=0)
    assert not np.allclose(candidate["y"], reference["y"], rtol=0.01, atol=0)
    assert 0.99 < tolerance.worst_ratio(reference, candidate, 0.01, 0.0) < 1


def test_a_nan_is_infinitely_far_and_an_empty_output_counts_nothing():
    assert tolerance.worst_ratio({"y": np.array([1.0])}, {"y": np.array([np.nan])}, 0.01, 0.001) == float("inf")
    assert tolerance.worst_ratio({"y": np.zeros(0)}, {"y": np.zeros(0)}, 0.01, 0.001) == 0.0
