"""What n seeds allow one to say: 95 % intervals of means and of paired differences.

Every interval is Student's t-interval (scipy.stats.t): mean ± t(0.975, n − 1) · std / √n, with
the sample std (ddof 1). It assumes the per-seed values are roughly normal; with 3 to 5 seeds
that is all one can do, and the interval is wide, which is the point. Differences are paired by
seed (a pruned model against its own seed's baseline, a method against Gate Decorator on the same
seed and target), so the baseline's seed-to-seed spread cancels. A difference is "better" or
"worse" only when its whole interval lies on one side of zero; otherwise it is "not
distinguishable with n seeds". One seed gives no interval and no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
from scipy import stats

CONFIDENCE = 0.95
INTERVAL_NOTE = "[…]: 95 % t-interval of the mean over the seeds (scipy.stats.t; none for one seed)"


def interval(values: Iterable[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """(low, high) of the t-interval of the mean of `values`; (nan, nan) below two values."""
    values = [float(v) for v in values if not pd.isna(v)]
    if len(values) < 2:
        return math.nan, math.nan
    mean, sem = sum(values) / len(values), stats.sem(values)
    if sem == 0:
        return mean, mean
    return tuple(float(x) for x in stats.t.interval(confidence, len(values) - 1, loc=mean, scale=sem))


def summary(values: Iterable[float], prefix: str) -> dict:
    """{prefix_mean, prefix_std, prefix_ci_low, prefix_ci_high} of the non-missing `values`."""
    values = [float(v) for v in values if not pd.isna(v)]
    if not values:
        return {}
    low, high = interval(values)
    return {
        f"{prefix}_mean": sum(values) / len(values),
        f"{prefix}_std": float(pd.Series(values).std(ddof=1)) if len(values) > 1 else 0.0,
        f"{prefix}_ci_low": low,
        f"{prefix}_ci_high": high,
    }


def verdict(low: float, high: float, n: int) -> str:
    """'better' / 'worse' (the interval of a difference clear of zero) or 'not distinguishable'."""
    if n < 2 or pd.isna(low) or pd.isna(high):
        return "one seed: no verdict" if n < 2 else ""
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return f"not distinguishable with {n} seeds"


def paired(ours: pd.Series, reference: pd.Series, prefix: str) -> dict:
    """The paired difference ours − reference over the seeds both have (both Series indexed by
    seed): its summary (gdbench.report.stats.summary), n, and its verdict."""
    common = ours.dropna().index.intersection(reference.dropna().index)
    differences = (ours[common] - reference[common]).tolist()
    row = summary(differences, prefix)
    if not row:
        return {}
    row[f"{prefix}_n"] = len(differences)
    row[f"{prefix}_verdict"] = verdict(row[f"{prefix}_ci_low"], row[f"{prefix}_ci_high"], len(differences))
    return row
