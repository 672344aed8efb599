#!/usr/bin/python3
"""Reference values for descent's comparison statistics, computed with Debian's SciPy.

    /usr/bin/python3 tests/compare/scipy_reference.py > tests/compare/scipy_reference.json
    /usr/bin/python3 tests/compare/scipy_reference.py --cases FILE.json   (the live test's mode)

The checked-in JSON was written by SciPy 1.10.1. Each case holds paired differences and what SciPy says
about them: mean, sample std (ddof=1), the 95% t interval of the mean, ttest_1samp(d, 0) (= ttest_rel),
wilcoxon(d) with its defaults, and Cohen's d (mean / std of the differences). Holm's adjustment is not in
SciPy; it is computed here from its definition. Values that do not exist are null.
"""
import json
import math
import sys
import warnings

import numpy as np
import scipy
from scipy import stats


def finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def describe(d):
    d = np.asarray(d, dtype=np.float64)
    n = len(d)
    out = {"differences": d.tolist(), "n": n, "mean": finite_or_none(np.mean(d)) if n else None}
    out["std"] = finite_or_none(np.std(d, ddof=1)) if n >= 2 else None
    if n >= 2 and out["std"] > 0:
        low, high = stats.t.interval(0.95, n - 1, loc=np.mean(d), scale=stats.sem(d))
        out["ci95"] = [float(low), float(high)]
        t = stats.ttest_1samp(d, 0.0)
        out["t_statistic"], out["t_p"] = finite_or_none(t.statistic), finite_or_none(t.pvalue)
        out["cohens_d"] = float(np.mean(d) / np.std(d, ddof=1))
    else:
        out["ci95"] = None
        out["t_statistic"] = out["t_p"] = out["cohens_d"] = None
    if n and np.any(d != 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "exact p-value ... zeros", "sample size too small"
            w = stats.wilcoxon(d)
        out["wilcoxon_statistic"], out["wilcoxon_p"] = float(w.statistic), float(w.pvalue)
    else:
        out["wilcoxon_statistic"] = out["wilcoxon_p"] = None
    return out


def holm(p_values):
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(present)
    adjusted = [None] * len(p_values)
    running = 0.0
    for k, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - k) * p))
        adjusted[i] = running
    return adjusted


def fixed_cases():
    rng = np.random.default_rng(20261122)
    cases = []
    for n in (2, 3, 5, 8, 12, 25, 50, 51, 80):  # 50 is the last exact size, 51 the first approximate
        cases.append(rng.normal(0.02, 0.05, n))
    cases.append([0.1, -0.2, 0.3, -0.1, 0.2, 0.3, -0.3])          # ties in |d|: exact with a fractional R+
    cases.append([0.0, 0.5, -0.25, 0.75, 1.0, 0.5, -0.5, 0.25])    # a zero: normal approximation
    cases.append([0.0, 0.0, 0.3])                                  # mostly zeros
    cases.append(np.round(rng.normal(0, 1, 60), 1))                # many ties, approximate
    cases.append([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])                   # all positive: the smallest exact p
    cases.append([-0.4, 0.4, -0.1, 0.1, 0.2, -0.2])                # R+ at the centre: p = 1
    cases.append([0.25])                                           # one pair
    cases.append([0.0, 0.0, 0.0])                                  # no difference at all
    cases.append([0.5, 0.5, 0.5])                                  # no spread
    return [describe(c) for c in cases]


def special_values():
    quantiles = [{"p": p, "df": df, "value": float(stats.t.ppf(p, df))}
                 for p in (0.975, 0.995, 0.9, 0.6, 0.025) for df in (1, 2, 3, 4, 9, 29, 100, 1000)]
    betas = [{"a": a, "b": b, "x": x, "value": float(scipy.special.betainc(a, b, x))}
             for a, b in ((0.5, 0.5), (1.5, 0.5), (10.0, 0.5), (2.0, 3.0), (50.0, 0.5), (0.5, 20.0))
             for x in (1e-6, 0.01, 0.3, 0.5, 0.77, 0.999)]
    return quantiles, betas


def holm_cases():
    rng = np.random.default_rng(7)
    cases = [[0.01, 0.04, 0.03, 0.005], [0.2, None, 0.01, 0.8, 0.04], [0.5], [], [0.03, 0.03, 0.03]]
    cases.append([float(p) for p in rng.uniform(0, 0.2, 9)])
    return [{"p": c, "adjusted": holm(c)} for c in cases]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--cases":
        with open(sys.argv[2]) as f:
            cases = json.load(f)
        json.dump({"cases": [describe(c) for c in cases["differences"]],
                   "holm": [{"p": p, "adjusted": holm(p)} for p in cases["holm"]]}, sys.stdout)
        return
    quantiles, betas = special_values()
    json.dump({"scipy_version": scipy.__version__, "cases": fixed_cases(), "holm": holm_cases(),
               "t_quantiles": quantiles, "incomplete_beta": betas}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
