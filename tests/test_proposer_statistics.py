"""benchmarks/proposer_statistics.py on synthetic runs whose answer is known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture()
def stats(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS_DIR))
    import proposer_statistics

    return proposer_statistics


def test_identical_samples_give_a_ratio_interval_around_1_and_p_near_a_half(stats) -> None:
    runs = [12, 40, 75, 130, 220, 310, 480, 650, 800, 950] * 3
    result = stats.compare(runs, runs, budget=1000)
    assert result.ratio == 1.0
    assert result.low < 1.0 < result.high
    assert 0.4 < result.p_value < 0.6


def test_clearly_separated_samples_give_a_small_p_and_an_interval_below_1(stats) -> None:
    rng = np.random.default_rng(0)
    fast = list(rng.integers(10, 50, size=30))
    slow = list(rng.integers(200, 900, size=30))
    result = stats.compare(fast, slow, budget=1000)
    assert result.p_value < 0.01
    assert result.high < 1.0
    assert stats.compare(slow, fast, budget=1000).p_value > 0.99  # one-sided: "fewer", not "different"


def test_runs_that_never_reached_the_target_count_above_the_budget(stats) -> None:
    fast = [5, 8, 9, 11, 14, 20, None]
    never = [None] * 7
    result = stats.compare(fast, never, budget=100)
    assert (result.censored, result.baseline_censored, result.runs) == (1, 7, 7)
    assert result.ratio == pytest.approx(11 / 101)  # the baseline's median is the censored value
    assert result.p_value < 0.01
    assert list(stats.censored([3, None], budget=100)) == [3.0, 101.0]


def test_both_fully_censored_cannot_be_told_apart(stats) -> None:
    result = stats.compare([None] * 5, [None] * 5, budget=50)
    assert result.ratio == 1.0 and result.low == 1.0 == result.high
    assert result.p_value >= 0.5


def test_bad_input_is_refused_with_the_reason(stats) -> None:
    with pytest.raises(ValueError, match="at least one seed"):
        stats.compare([], [1], budget=10)
    with pytest.raises(ValueError, match=r"must lie in 1..10"):
        stats.compare([11], [1], budget=10)


def test_the_row_prints_ratio_interval_p_and_censored_counts(stats) -> None:
    row = stats.compare([1, 2, None], [5, None, None], budget=9).row()
    assert row.count("|") == 3 and "1/3, 2/3" in row


def test_success_counts_are_compared_where_most_runs_are_censored(stats) -> None:
    """GHZ-5's case: 11 of 30 against 5 of 30 reached the target; both medians are censored."""
    first = [100] * 11 + [None] * 19
    baseline = [100] * 5 + [None] * 25
    comparison = stats.compare(first, baseline, budget=1000)
    # the hypergeometric tail: at least 11 of the 16 successes fall among the proposer's 30 runs
    tail = sum(math.comb(16, k) * math.comb(44, 30 - k) for k in range(11, 17)) / math.comb(60, 30)
    assert comparison.ratio == 1.0 and comparison.success_p_value == pytest.approx(tail, rel=1e-9)
    assert stats.compare(baseline, first, budget=1000).success_p_value > 0.95
