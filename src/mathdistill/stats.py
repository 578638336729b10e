"""Confidence intervals for accuracies: t over seeds, Wilson for one run, no scipy needed.

    from mathdistill.stats import t_critical, mean_ci, wilson, aggregate_seeds
    t_critical(4)                        # 2.776: two-sided 95% Student-t quantile, df = 4
    mean_ci([0.30, 0.34, 0.32])          # (0.32, lo, hi): mean +- t(n-1) * sd / sqrt(n)
    wilson(0.25, 40)                     # 95% Wilson score interval of 10/40 correct
    agg = aggregate_seeds(df, keys=["method", "student", "dataset"])
    # one row per key: mean, n (seeds), sd, ci_low, ci_high, ci_kind, n_examples
    diff_ci([1, 1, 0, 1], [0, 1, 0, 0])  # (0.5, lo, hi): A - B on the same problems (paired)

Intervals (all 95%, two-sided, on the 0-1 scale, clipped to [0, 1]):
- n >= 2 seeds: Student-t over the per-seed values ("t"); it covers seed-to-seed variation
  only, not the test-set sampling of each run.
- n == 1: Wilson score interval of that run's accuracy over its `n_examples` test problems
  ("wilson"); when the row carries `var` (the binomial variance of an average of several
  test sets) a normal interval mean +- z*sqrt(var) ("normal"); otherwise none ("").
- a difference of two accuracies (`diff_ci`): Newcombe's hybrid score interval (method 10
  of Newcombe 1998, Stat. Med. 17:873 and 17:2635), built from the two Wilson intervals;
  paired (the same test problems, correlation phi of the two runs' correctness) or
  independent (phi = 0). It stays inside [-1, 1] and behaves at 0 % and 100 %.
t quantiles: exact table for df 1..30 (standard tables, 3 decimals); above 30 the
Cornish-Fisher expansion in 1/df (error < 1e-3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["T975", "Z975", "aggregate_seeds", "diff_ci", "mean_ci", "t_critical", "wilson"]

Z975 = 1.959963984540054  # standard normal 0.975 quantile

# Student-t 0.975 quantiles, df = 1..30 (two-sided 95%).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t_critical(df: int) -> float:
    """Two-sided 95% Student-t critical value for `df` >= 1 degrees of freedom."""
    if df < 1 or int(df) != df:
        raise ValueError(f"t_critical: degrees of freedom must be a positive integer, got {df}")
    df = int(df)
    if df <= len(T975):
        return T975[df - 1]
    z = Z975  # Cornish-Fisher: t = z + g1/df + g2/df^2 + ...
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    return z + g1 / df + g2 / df**2 + g3 / df**3


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


def mean_ci(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): t interval over >= 2 values (sample sd, n-1 df), clipped to [0, 1]."""
    n = len(values)
    if n < 2:
        raise ValueError(f"mean_ci needs at least 2 values, got {n}")
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_critical(n - 1) * sd / math.sqrt(n)
    return mean, _clip(mean - half), _clip(mean + half)


def wilson(p: float, n: int, z: float = Z975) -> tuple[float, float]:
    """Wilson score interval of a proportion `p` observed on `n` trials."""
    if n <= 0:
        raise ValueError(f"wilson: n must be positive, got {n}")
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return _clip(center - half), _clip(center + half)


def diff_ci(a: Sequence[bool], b: Sequence[bool], *, paired: bool = True,
            z: float = Z975) -> tuple[float, float, float]:
    """(difference, low, high): accuracy of `a` minus accuracy of `b` (0-1 scale) with
    Newcombe's 95% interval. paired=True: a[i] and b[i] are the two runs' correctness on
    the same problem i; paired=False: two independent samples (any lengths)."""
    na, nb = len(a), len(b)
    if not na or not nb:
        raise ValueError(f"diff_ci: both samples need problems, got {na} and {nb}")
    if paired and na != nb:
        raise ValueError(f"diff_ci: paired samples differ in length ({na} vs {nb})")
    p1, p2 = sum(map(bool, a)) / na, sum(map(bool, b)) / nb
    (l1, u1), (l2, u2) = wilson(p1, na, z), wilson(p2, nb, z)
    phi = 0.0
    if paired:
        both = sum(1 for x, y in zip(a, b) if x and y)
        only_a = sum(1 for x, y in zip(a, b) if x and not y)
        only_b = sum(1 for x, y in zip(a, b) if y and not x)
        neither = na - both - only_a - only_b
        denom = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
        # Newcombe's phi: numerator ad - bc, shrunk by n/2 when positive (never below 0)
        cross = both * neither - only_a * only_b
        cross = max(cross - na / 2, 0.0) if cross > 0 else cross
        phi = cross / math.sqrt(denom) if denom else 0.0
    d = p1 - p2
    lo = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    hi = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return d, max(-1.0, lo), min(1.0, hi)


def _present(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _one(group: pd.DataFrame, value: str) -> dict:
    vals = [float(v) for v in group[value]]
    n = len(vals)
    sizes = [int(s) for s in group.get("n_examples", pd.Series(dtype=float)) if _present(s)]
    out = {"mean": sum(vals) / n, "n": n, "sd": math.nan, "ci_low": math.nan,
           "ci_high": math.nan, "ci_kind": "", "n_examples": max(sizes) if sizes else None}
    if n >= 2:
        mean, lo, hi = mean_ci(vals)
        out.update(sd=math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)),
                   ci_low=lo, ci_high=hi, ci_kind="t")
        return out
    var = group["var"].iloc[0] if "var" in group else None
    if _present(var):
        half = Z975 * math.sqrt(float(var))
        out.update(ci_low=_clip(vals[0] - half), ci_high=_clip(vals[0] + half), ci_kind="normal")
    elif sizes:
        lo, hi = wilson(vals[0], sizes[0])
        out.update(ci_low=lo, ci_high=hi, ci_kind="wilson")
    return out


def aggregate_seeds(df: pd.DataFrame, keys: Sequence[str], value: str = "value") -> pd.DataFrame:
    """Aggregate `value` (0-1 scale) over seeds per `keys`; see the module docstring.

    Optional columns: `n_examples` (test problems of the run, for Wilson), `var` (binomial
    variance of an average, for the normal interval). Rows whose value is missing are dropped.
    """
    keys = list(keys)
    cols = keys + ["mean", "n", "sd", "ci_low", "ci_high", "ci_kind", "n_examples"]
    df = df[df[value].notna()]
    if df.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for key, group in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key)), **_one(group, value)})
    return pd.DataFrame(rows, columns=cols)
