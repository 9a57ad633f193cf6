"""Multiple-testing corrections and verdicts on odd p-values: empty lists, a single p-value,
ties, None/NaN gaps, 0, -0.0, subnormal and out-of-range values.

Benjamini-Hochberg, Bonferroni and Simes are checked against a hand computation written
from their definitions (no statsmodels); the verdict against its four documented rules.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from modelsteward.drift.correction import P_FLOOR, adjust, benjamini_hochberg, bonferroni, floor_p, simes
from modelsteward.drift.registry import dataset_verdict, format_p, verdict

from ._odd import SEEDED, Refused, close, outcome

p_like = st.one_of(
    st.none(),
    st.sampled_from([0.0, -0.0, 5e-324, 1e-300, 1.0, 0.05, 0.5, math.nan]),
    st.floats(0.0, 1.0),
    st.sampled_from([-1e-300, 1.0000000000000002, math.inf, -math.inf, 2.0]),
)


def _present(ps: list[float | None]) -> list[float]:
    return [float(p) for p in ps if p is not None and not math.isnan(p)]


def _hand_bh(ps: list[float | None]) -> list[float]:
    present = sorted(_present(ps))
    m = len(present)
    out = []
    for p in ps:
        if p is None or math.isnan(p):
            out.append(math.nan)
            continue
        # min over every sorted position j whose p-value is >= p of m p_(j) / j
        out.append(min(1.0, min(m * q / (j + 1) for j, q in enumerate(present) if q >= p)))
    return out


def _valid(ps: list[float | None]) -> bool:
    return all(p is None or math.isnan(p) or 0.0 <= p <= 1.0 for p in ps)


@SEEDED
@given(ps=st.lists(p_like, max_size=12))
@example(ps=[]).via("no p-values")
@example(ps=[None, math.nan]).via("only gaps")
@example(ps=[0.03]).via("a single p-value is its own adjustment")
@example(ps=[0.02, 0.02, 0.02]).via("ties")
def test_corrections_equal_hand_computation(ps: list[float | None]) -> None:
    results = {name: outcome(fn, ps) for name, fn in
               (("bh", benjamini_hochberg), ("bonferroni", bonferroni), ("simes", simes),
                ("adjust-none", lambda x: adjust(x, "none")))}
    if not _valid(ps):
        assert all(isinstance(r, Refused) for r in results.values()), results
        return
    m = len(_present(ps))
    expected_bh = _hand_bh(ps)
    for got, want in zip(results["bh"], expected_bh, strict=True):
        assert close(float(got), want, rel=1e-12, abs_=0.0)
    for got, p in zip(results["bonferroni"], ps, strict=True):
        want = math.nan if p is None or math.isnan(p) else min(1.0, p * m)
        assert close(float(got), want, rel=1e-12, abs_=0.0)
    want_simes = min((m * q / (j + 1) for j, q in enumerate(sorted(_present(ps)))), default=math.nan)
    assert close(results["simes"], min(want_simes, 1.0) if m else math.nan, rel=1e-12, abs_=0.0)
    np.testing.assert_array_equal(results["adjust-none"], [math.nan if p is None else p for p in ps])
    np.testing.assert_array_equal(outcome(adjust, ps, "bh"), results["bh"])


@SEEDED
@given(p=p_like)
def test_floor_p_and_format_p_never_print_zero(p: float | None) -> None:
    floored = outcome(floor_p, p)
    if p is None or math.isnan(p):
        assert floored is None
        return
    assert floored >= P_FLOOR and floored == max(p, P_FLOOR)
    if 0.0 <= p <= 1.0:
        text = format_p(floored)
        assert text == "< 1e-300" if p <= P_FLOOR else float(text) > 0


@SEEDED
@given(effect=st.one_of(st.sampled_from([0.0, -0.0, math.inf, math.nan, 1e300, 5e-324, 0.1]), st.floats(0, 2)),
       threshold=st.sampled_from([0.0, 0.1, math.inf, -1.0, math.nan]),
       p=p_like, alpha=st.sampled_from([0.05, 0.0, 1.0, math.nan, 1e-300]),
       n=st.sampled_from([0, 1, 29, 30, 10**9]), need=st.sampled_from([0, 1, 30]))
def test_verdict_follows_its_rules(effect: float, threshold: float, p: float | None, alpha: float, n: int,
                                   need: int) -> None:
    res = outcome(verdict, effect=effect, threshold=threshold, p_adjusted=p, alpha=alpha, n_current=n,
                  min_samples=need, subject="x")
    ok_args = (not math.isnan(effect) and math.isfinite(threshold) and threshold >= 0 and 0 < alpha < 1
               and _valid([p]))
    if isinstance(res, Refused):
        assert not ok_args, res
        return
    assert ok_args and res.reading
    significant = p is not None and not math.isnan(p) and p < alpha
    no_p = p is None or math.isnan(p)
    if n < need:
        want = "not_enough_data"
    elif effect >= threshold and (no_p or significant):
        want = "drift"
    elif significant:
        want = "small_change"
    else:
        want = "no_drift"
    assert res.status == want


@st.composite
def features(draw: st.DrawFn) -> tuple[list[float | None], list[bool], list[str]]:
    n = draw(st.integers(0, 6))
    ps, large, statuses = [], [], []
    for _ in range(n):
        status = draw(st.sampled_from(["drift", "small_change", "no_drift", "not_enough_data", "no_reference", "bogus"]))
        p = draw(p_like)
        big = draw(st.booleans())
        ps.append(p)
        large.append(big)
        statuses.append(status)
    return ps, large, statuses


@SEEDED
@given(f=features(), dataset_alpha=st.sampled_from([0.001, 0.05, 0.0, 1.0, math.nan]))
@example(f=([], [], []), dataset_alpha=0.001).via("no features")
@example(f=([None], [True], ["drift"]), dataset_alpha=0.001).via("a drift without a p-value counts on its effect")
def test_dataset_verdict_follows_simes(f: tuple[list[float | None], list[bool], list[str]], dataset_alpha: float) -> None:
    ps, large, statuses = f
    res = outcome(dataset_verdict, ps, large, statuses, dataset_alpha=dataset_alpha)
    consistent = all(s != "bogus" and (s != "drift" or big) and (s != "small_change" or not (p is None or math.isnan(p)))
                     for p, big, s in zip(ps, large, statuses, strict=True))
    ok = 0 < dataset_alpha < 1 and _valid(ps) and consistent
    if isinstance(res, Refused):
        assert not ok, res
        return
    assert ok, res
    tested = [i for i, s in enumerate(statuses) if s not in ("not_enough_data", "no_reference")]
    if not tested:
        assert res.status == "not_enough_data" and res.p_value is None
        return
    tested_ps = [ps[i] for i in tested]
    adjusted = _hand_bh(tested_ps)
    alarming = tuple(i for i, a in zip(tested, adjusted, strict=True) if statuses[i] == "drift" and (math.isnan(a) or a < dataset_alpha))
    assert res.alarming == alarming
    want_p = min((len(_present(tested_ps)) * q / (j + 1) for j, q in enumerate(sorted(_present(tested_ps)))), default=None)
    assert (res.p_value is None) == (want_p is None) and (want_p is None or close(res.p_value, min(want_p, 1.0), rel=1e-12))
    kinds = {statuses[i] for i in tested}
    want = "drift" if alarming else "small_change" if kinds & {"drift", "small_change"} else "no_drift"
    assert res.status == want
