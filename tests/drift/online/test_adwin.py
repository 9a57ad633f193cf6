"""ADWIN: the exponential histogram by hand and against numpy, the cut against a plain reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelsteward.drift.online import ADWIN


def test_histogram_by_hand() -> None:
    # max_buckets=2: a row overflows at its third bucket and its two oldest merge.
    #   1, 2, 3 -> row 0 [3], row 1 [1+2]
    #   4, 5    -> row 0 [5], row 1 [3, 3+4]
    #   6, 7    -> row 0 [7], row 1 [3, 7, 5+6] -> overflow -> row 1 [11], row 2 [3+7]
    # A bucket's variance is its sum of squared deviations: (1-2)^2/2 = 0.5 for two
    # consecutive integers, and 2.25 + 0.25 + 0.25 + 2.25 = 5 for 1, 2, 3, 4.
    adwin = ADWIN(max_buckets=2, clock=1000)
    adwin.update_many([1, 2, 3, 4, 5, 6, 7])
    assert adwin._totals == [[7.0], [11.0], [10.0]]
    assert adwin._variances == [[0.0], [0.5], [5.0]]
    assert adwin.width == 7
    assert adwin.estimation == 4.0
    assert adwin._variance == pytest.approx(28.0)  # sum of (k - 4)^2 for k = 1..7


def test_histogram_is_exact_on_a_long_stream() -> None:
    values = np.random.default_rng(2).random(1000)
    adwin = ADWIN(clock=10**6)  # no check, so nothing is dropped
    adwin.update_many(values)
    assert adwin.width == 1000
    assert adwin.estimation == pytest.approx(values.mean())
    assert adwin._variance == pytest.approx(values.var() * values.size)
    assert all(len(row) <= adwin.max_buckets for row in adwin._totals)

    # Walk the buckets oldest first: each covers the next 2**row values exactly.
    start = 0
    for row in range(len(adwin._totals) - 1, -1, -1):
        size = 2**row
        for total, variance in zip(adwin._totals[row], adwin._variances[row], strict=True):
            chunk = values[start : start + size]
            assert total == pytest.approx(chunk.sum())
            assert variance == pytest.approx(chunk.var() * size, abs=1e-9)
            start += size
    assert start == values.size


def reference_adwin(stream: list[float], delta: float, min_window_length: int, grace_period: int) -> list[int]:
    """ADWIN over an explicit list, testing every split on every update and dropping one value per cut."""
    window: list[float] = []
    detections = []
    for i, x in enumerate(stream):
        window.append(x)
        if len(window) <= grace_period:
            continue
        detected = False
        while True:
            n = len(window)
            cut = False
            if n >= 2 * min_window_length:
                arr = np.asarray(window)
                dd = math.log(2 * math.log(n) / delta)
                for n0 in range(min_window_length, n - min_window_length + 1):
                    n1 = n - n0
                    gap = arr[:n0].mean() - arr[n0:].mean()
                    m_inverse = 1 / (n0 - min_window_length + 1) + 1 / (n1 - min_window_length + 1)
                    epsilon = math.sqrt(2 * m_inverse * arr.var() * dd) + 2 / 3 * dd * m_inverse
                    if abs(gap) > epsilon:
                        cut = True
                        break
            if not cut:
                break
            detected = True
            window.pop(0)
        if detected:
            detections.append(i)
    return detections


def test_cut_matches_a_plain_reference_when_every_split_is_tested() -> None:
    # With no merging (max_buckets above the stream length) and clock=1, every split point
    # is tested on every update, which a direct implementation does on an explicit list.
    rng = np.random.default_rng(4)
    stream = rng.binomial(1, 0.1, 150).tolist() + rng.binomial(1, 0.6, 150).tolist()
    expected = reference_adwin(stream, delta=0.002, min_window_length=5, grace_period=10)
    assert expected, "the reference should detect the change"
    assert expected[0] >= 150
    adwin = ADWIN(clock=1, max_buckets=1000)
    assert adwin.update_many(stream) == expected


def test_a_cut_keeps_the_new_concept_in_the_window() -> None:
    # The cuts drop old values only: the window is shortened, never emptied.
    adwin = ADWIN(clock=1, max_buckets=1000)
    detections = adwin.update_many([0] * 100 + [1] * 100)
    assert detections[0] > 100
    assert 100 < adwin.width < 200
    assert adwin.estimation > 0.5


def test_checks_fall_every_clock_updates() -> None:
    stream = [0] * 100 + [1] * 200
    detections = ADWIN(clock=32).update_many(stream)
    assert detections and all((i + 1) % 32 == 0 for i in detections)


def test_grace_period_holds_off_the_checks() -> None:
    # 30 zeros then ones, every split tested: the first cut comes on index 59; with a grace
    # period of 70 no split is tested before the window holds 71 values (index 70).
    stream = [0] * 30 + [1] * 100
    assert ADWIN(clock=1, max_buckets=1000, grace_period=0).update_many(stream)[0] == 59
    assert ADWIN(clock=1, max_buckets=1000, grace_period=70).update_many(stream)[0] == 70
