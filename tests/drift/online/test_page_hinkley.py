"""Page-Hinkley against hand calculation and against Page's cumulative statistic."""

from __future__ import annotations

import numpy as np
import pytest

from modelsteward.drift.online import PageHinkley


def test_cumulative_statistic_by_hand() -> None:
    # delta = 0.1, alpha = 1.  The running mean includes the current value:
    #   index  x  mean   x - mean - delta   S = max(0, S + ...)
    #   0      0  0      -0.1               0
    #   1      0  0      -0.1               0
    #   2      0  0      -0.1               0
    #   3      1  0.25    0.65              0.65
    #   4      1  0.4     0.5               1.15  > threshold 1 -> drift at index 4
    ph = PageHinkley(min_instances=1, delta=0.1, threshold=1.0, alpha=1.0)
    sums = []
    for x in [0, 0, 0, 1]:
        ph.update(x)
        sums.append(ph._sum_up)
        assert not ph.drift_detected
    ph.update(1)
    sums.append(ph._sum_up)
    assert sums == pytest.approx([0, 0, 0, 0.65, 1.15])
    assert ph.drift_detected


def test_min_instances_delays_the_alarm() -> None:
    # Index 5: mean 0.5, S = 1.15 + 0.4 = 1.55.
    stream = [0, 0, 0, 1, 1, 1]
    assert PageHinkley(min_instances=5, delta=0.1, threshold=1.0, alpha=1.0).update_many(stream) == [4]
    assert PageHinkley(min_instances=6, delta=0.1, threshold=1.0, alpha=1.0).update_many(stream) == [5]


def test_forgetting_keeps_the_statistic_bounded() -> None:
    # alpha = 0.5: S = 0.65, then 0.5 * 0.65 + 0.5 = 0.825, then 0.5 * 0.825 + 0.4 = 0.8125 ...
    # Every deviation is below 0.5, so S stays below 0.5 / (1 - 0.5) = 1: no alarm, ever.
    ph = PageHinkley(min_instances=1, delta=0.1, threshold=1.0, alpha=0.5)
    ph.update_many([0, 0, 0, 1, 1, 1])
    assert ph._sum_up == pytest.approx(0.5 * (0.5 * 0.65 + 0.5) + 0.4)
    assert ph.update_many([1] * 200) == []


def test_equals_page_statistic_m_minus_its_minimum_when_alpha_is_one() -> None:
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.binomial(1, 0.2, 300), rng.binomial(1, 0.5, 100)]).astype(float)
    means = np.cumsum(x) / np.arange(1, x.size + 1)
    m = np.cumsum(x - means - 0.005)
    page = m - np.minimum.accumulate(np.minimum(m, 0.0))  # m_0 = 0 enters the minimum

    ph = PageHinkley(min_instances=10**6, alpha=1.0)  # never fires, never resets
    for t, value in enumerate(x):
        ph.update(value)
        assert ph._sum_up == pytest.approx(page[t], abs=1e-9), t


@pytest.mark.parametrize(("mode", "up", "down"), [("up", [4], []), ("down", [], [4]), ("both", [4], [4])])
def test_mode_chooses_the_direction(mode: str, up: list[int], down: list[int]) -> None:
    params = {"min_instances": 1, "delta": 0.1, "threshold": 1.0, "alpha": 1.0, "mode": mode}
    assert PageHinkley(**params).update_many([0, 0, 0, 1, 1]) == up  # type: ignore[arg-type]
    assert PageHinkley(**params).update_many([1, 1, 1, 0, 0]) == down  # type: ignore[arg-type]


def test_the_state_after_a_drift_is_that_of_a_fresh_detector() -> None:
    ph = PageHinkley(min_instances=1, delta=0.1, threshold=1.0, alpha=1.0)
    assert ph.update_many([0, 0, 0, 1, 1]) == [4]
    ph.update(1)
    fresh = ph.clone()
    fresh.update(1)
    assert vars(ph) == vars(fresh)
    assert ph._n == 1 and ph._mean == 1.0


def test_detects_a_rise_in_a_real_valued_stream() -> None:
    # The threshold is in the units of the stream: a noise of standard deviation 0.3 is about
    # that of a Bernoulli(0.1) error stream, and a rise of 0.3 is found like 0.1 -> 0.4.
    rng = np.random.default_rng(5)
    stream = np.concatenate([rng.normal(0.0, 0.3, 1000), rng.normal(0.3, 0.3, 500)])
    assert PageHinkley().update_many(stream) == [1121]
