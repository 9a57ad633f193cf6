"""Online detectors on odd streams: constant streams of any value raise no alarm; NaN,
infinities, text and (for DDM) non-binary values are refused with a clear error; the
positions ``update_many`` reports are the updates at which ``drift_detected`` was true.
"""

from __future__ import annotations

import math

from hypothesis import example, given
from hypothesis import strategies as st

from modelsteward.drift.online import ADWIN, DDM, PageHinkley
from modelsteward.drift.online.adwin import MAX_ABS_VALUE as ADWIN_MAX
from modelsteward.drift.online.base import MAX_ABS_VALUE

from ._odd import FEW, SEEDED, SPECIAL, Refused, outcome

DETECTORS = [
    lambda: ADWIN(clock=1, grace_period=0, min_window_length=1),
    lambda: ADWIN(),
    lambda: DDM(warm_start=1),
    lambda: PageHinkley(min_instances=1, threshold=1e-9, delta=0.0, mode="both"),
    lambda: PageHinkley(),
]


@FEW
@given(value=st.sampled_from(SPECIAL + [0, 1, True, 1e100, 1e6]), length=st.sampled_from([1, 2, 31, 500, 3000]),
       which=st.integers(0, len(DETECTORS) - 1))
@example(value=1e308, length=3000, which=0).via("a running total beyond the float range: refused")
@example(value=1e100, length=3000, which=0).via("ADWIN: rounding of 1e100 totals beats the bound: refused")
@example(value=1e100, length=3000, which=3).via("Page-Hinkley reads 1e100")
@example(value=1e6, length=3000, which=0).via("the largest value ADWIN reads")
@example(value=1.0, length=3000, which=2).via("DDM on a stream of errors only")
def test_constant_streams_raise_no_alarm(value: float, length: int, which: int) -> None:
    detector = DETECTORS[which]()
    res = outcome(detector.update_many, [value] * length)
    if isinstance(res, Refused):
        assert ((isinstance(detector, DDM) and value not in (0, 1)) or abs(value) > MAX_ABS_VALUE
                or (isinstance(detector, ADWIN) and abs(value) > ADWIN_MAX)), res
        return
    assert res == []
    assert not detector.drift_detected


def _readable(detector: object, x: object) -> bool:
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or abs(x) > MAX_ABS_VALUE:
        return isinstance(x, bool)
    if isinstance(detector, ADWIN):
        return abs(x) <= ADWIN_MAX
    return not isinstance(detector, DDM) or x in (0, 1)


@SEEDED
@given(stream=st.lists(st.one_of(st.sampled_from([0, 1, 0.0, 1.0]),
                                 st.sampled_from([math.nan, math.inf, -math.inf, "1", None, 0.5, 1e300, -0.0])),
                       max_size=80),
       which=st.integers(0, len(DETECTORS) - 1))
def test_odd_stream_values_are_refused_or_read(stream: list[object], which: int) -> None:
    detector = DETECTORS[which]()
    seen = []
    for i, x in enumerate(stream):
        res = outcome(detector.update, x)
        bad = not _readable(detector, x)
        if isinstance(res, Refused):
            assert bad, (x, res)
            continue
        assert not bad, x
        if detector.drift_detected:
            seen.append(i)
    # the same values, refused ones left out, through update_many give the same detections
    clean = [(i, x) for i, x in enumerate(stream) if _readable(detector, x)]
    again = DETECTORS[which]().update_many([x for _, x in clean])
    assert [clean[j][0] for j in again] == seen
