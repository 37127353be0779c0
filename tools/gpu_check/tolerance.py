"""The search's tolerance test in numpy, for the tools that check its results on other
implementations (check_mixed.py on a GPU, bench/mixed_real_models.py and mixed_bert_base.py on
the emulations and PyTorch): numpy.allclose(float32_output, candidate_output, rtol, atol) as the
spec states it, so |reference - candidate| <= atol + rtol * |candidate| (numpy scales rtol by its
second argument), as src/mixed/acceptance.cc judges. Needs numpy only."""
import numpy as np


def tolerance_ratios(reference, candidate, rtol, atol):
    """Per output name: each element's |reference - candidate| / (atol + rtol * |candidate|), in
    float64; a NaN (either side) counts as infinitely far. numpy.allclose passes at <= 1."""
    ratios = {}
    for name, ref in reference.items():
        a = np.asarray(ref, dtype=np.float64)
        b = np.asarray(candidate[name], dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.abs(a - b) / (atol + rtol * np.abs(b))
        ratios[name] = np.where(np.isnan(ratio), np.inf, ratio)
    return ratios


def judged(reference, candidate, rtol, atol):
    """(the worst element's ratio, elements over the tolerance, elements) over every output; the
    worst is 0 where no output has elements."""
    ratios = tolerance_ratios(reference, candidate, rtol, atol).values()
    worst = max((float(r.max()) for r in ratios if r.size), default=0.0)
    return worst, sum(int(np.count_nonzero(r > 1)) for r in ratios), sum(r.size for r in ratios)


def worst_ratio(reference, candidate, rtol, atol):
    """The worst element's ratio over every output (0 for outputs without elements)."""
    return judged(reference, candidate, rtol, atol)[0]
