"""DDM against hand calculation: the p_min / s_min bookkeeping, the warning zone, the reset."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from modelsteward.drift.online import DDM


def s(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def test_p_min_and_s_min_bookkeeping_by_hand() -> None:
    # warm_start=5: no test before the 5th value.  p_i + s_i then falls at every update up to
    # the 10th value (p = 1/10), so that is where p_min and s_min are recorded:
    #   n:      5      6      7      8      9      10
    #   p + s:  .3789  .3188  .2751  .2419  .2159  .1949
    # Three errors follow; the thresholds are p_min + 2 s_min = .2897 and p_min + 3 s_min = .3846:
    #   n = 11: p = 2/11, p + s = .2981  -> warning
    #   n = 12: p = 3/12, p + s = .3750  -> warning
    #   n = 13: p = 4/13, p + s = .4357  -> drift (index 12)
    ddm = DDM(warm_start=5)
    stream = [0, 0, 0, 0, 1] + [0] * 5 + [1, 1, 1]

    ddm.update_many(stream[:4])
    assert ddm._p_min == math.inf and ddm._s_min == math.inf

    expected_p_min = [1 / 5, 1 / 6, 1 / 7, 1 / 8, 1 / 9, 1 / 10]
    for n, x, p_min in zip(range(5, 11), stream[4:10], expected_p_min, strict=True):
        ddm.update(x)
        assert ddm._p_min == pytest.approx(p_min)
        assert ddm._s_min == pytest.approx(s(p_min, n))
        assert not ddm.warning_detected and not ddm.drift_detected

    warnings, drifts = [], []
    for i, x in enumerate(stream[10:], start=10):
        ddm.update(x)
        warnings.append(ddm.warning_detected)
        drifts.append(ddm.drift_detected)
        assert ddm._p_min == pytest.approx(0.1) and ddm._s_min == pytest.approx(s(0.1, 10)), i
    assert warnings == [True, True, False]  # no warning on the update that detects drift
    assert drifts == [False, False, True]
    assert 2 / 11 + s(2 / 11, 11) > 0.1 + 2 * s(0.1, 10)
    assert 3 / 12 + s(3 / 12, 12) < 0.1 + 3 * s(0.1, 10) < 4 / 13 + s(4 / 13, 13)

    # The next update starts again from scratch.
    ddm.update(0)
    assert not ddm.drift_detected and not ddm.warning_detected
    assert (ddm._n, ddm._n_errors, ddm._p_min) == (1, 0, math.inf)


def test_the_state_after_a_drift_is_that_of_a_fresh_detector() -> None:
    stream = [0, 0, 0, 0, 1] + [0] * 5 + [1, 1, 1]
    ddm = DDM(warm_start=5)
    assert ddm.update_many(stream) == [12]
    ddm.update(1)
    fresh = ddm.clone()
    fresh.update(1)
    assert vars(ddm) == vars(fresh)


def test_no_error_at_all_never_drifts_but_the_first_error_after_it_does() -> None:
    # Strict comparisons: p = s = 0 is not above p_min + 3 s_min = 0 ...
    assert DDM().update_many([0] * 1000) == []
    # ... but any error is, the documented weakness of p_min = s_min = 0.
    assert DDM().update_many([0] * 30 + [1]) == [30]
    # The test starts at the warm_start-th value.
    assert DDM().update_many([0] * 29 + [1] + [0] * 30) == []


def test_only_errors_never_drift() -> None:
    # p = 1 and s = 0 throughout: p + s = 1 equals p_min + 3 s_min.
    assert DDM().update_many([1] * 1000) == []


@pytest.mark.parametrize("x", [0.5, 2, -1])
def test_rejects_values_other_than_zero_and_one(x: float) -> None:
    with pytest.raises(ValueError, match="binary error stream"):
        DDM().update(x)


def test_accepts_booleans_and_numpy_integers() -> None:
    values: list[Any] = [True, False, np.int64(1), np.bool_(False), 1.0]
    ddm = DDM()
    assert ddm.update_many(values) == []
    assert (ddm._n, ddm._n_errors) == (5, 3)


def test_warning_precedes_drift_on_a_slow_rise() -> None:
    rng = np.random.default_rng(7)
    stream = rng.binomial(1, 0.1, 3000).tolist() + rng.binomial(1, 0.2, 3000).tolist()
    ddm = DDM(warm_start=100)
    first_warning = None
    for i, x in enumerate(stream):
        ddm.update(x)
        if ddm.warning_detected and first_warning is None:
            first_warning = i
        if ddm.drift_detected:
            break
    assert ddm.drift_detected
    assert first_warning is not None and first_warning < i
