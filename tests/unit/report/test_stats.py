"""The report's statistics against numbers computed independently (Student's t table)."""

import math

import pandas as pd
import pytest

from gdbench.report import stats

T_975 = {1: 12.7062, 2: 4.3027, 4: 2.7764}  # t(0.975, df), any statistics table


def test_interval_is_the_t_interval_of_the_mean():
    values = [0.95, 0.97, 0.96, 0.99, 0.93]
    mean = sum(values) / 5
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 4)
    low, high = stats.interval(values)
    half = T_975[4] * std / math.sqrt(5)
    assert low == pytest.approx(mean - half, abs=1e-5) and high == pytest.approx(mean + half, abs=1e-5)
    assert all(math.isnan(x) for x in stats.interval([0.9]))  # one seed: no interval
    assert stats.interval([0.9, 0.9, 0.9]) == (0.9, 0.9)  # no spread: the mean itself


def test_paired_differences_pair_by_seed_and_judge_by_the_interval():
    ours = pd.Series({0: 0.95, 1: 0.96, 2: 0.97, 7: 0.5})  # seed 7 has no reference: left out
    reference = pd.Series({0: 0.90, 1: 0.92, 2: 0.91, 3: 0.2})
    row = stats.paired(ours, reference, "d")
    assert row["d_n"] == 3 and row["d_mean"] == pytest.approx(0.05)
    half = T_975[2] * 0.01 / math.sqrt(3)
    assert row["d_ci_low"] == pytest.approx(0.05 - half, abs=1e-5)
    assert row["d_ci_high"] == pytest.approx(0.05 + half, abs=1e-5)
    assert row["d_verdict"] == "better"  # [0.025, 0.075] is clear of zero
    assert stats.paired(reference, ours, "d")["d_verdict"] == "worse"
    noisy = stats.paired(pd.Series({0: 0.95, 1: 0.90, 2: 0.93}), pd.Series({0: 0.93, 1: 0.92, 2: 0.92}), "d")
    assert noisy["d_verdict"] == "not distinguishable with 3 seeds"
    assert stats.paired(pd.Series({0: 0.9}), pd.Series({0: 0.8}), "d")["d_verdict"] == "one seed: no verdict"
