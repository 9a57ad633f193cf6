"""Alert rules on window metrics: every condition on both sides of its threshold, streaks, baselines."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from modelsteward.alerts.rules import evaluate_rule, rule_baseline
from modelsteward.config import AlertRule

START = datetime(2026, 1, 5)
WEEK = timedelta(weeks=1)


def rule(condition: dict[str, Any], *, metric: str = "m", **kw: Any) -> AlertRule:
    return AlertRule.model_validate({"name": "r", "metric": metric, "condition": condition, **kw})


Window = tuple[datetime, datetime, dict[str, float | None]]


def history(values: list[float | None], *, metric: str = "m", starts: list[datetime] | None = None) -> list[Window]:
    starts = starts or [START + i * WEEK for i in range(len(values))]
    return [(s, s + WEEK, {metric: v, "other": 1.0}) for s, v in zip(starts, values, strict=True)]


def holds(r: AlertRule, values: list[float | None], reference: dict[str, float] | None = None) -> list[bool | None]:
    return [e.holds for e in evaluate_rule(r, history(values), reference or {})]


def fired(r: AlertRule, values: list[float | None], reference: dict[str, float] | None = None, **kw: Any) -> list[bool]:
    return [e.fired for e in evaluate_rule(r, history(values, **kw), reference or {})]


# -- every condition, on both sides and exactly at the threshold -------------------------------
@pytest.mark.parametrize(("condition", "baseline", "cases"), [
    ({"kind": "below", "value": 0.85}, None, {0.84: True, 0.85: False, 0.86: False, 0.0: True}),
    ({"kind": "above", "value": 500}, None, {501: True, 500: False, 499: False}),
    # relative change against a baseline of 100 by more than 25%: bounds 75 and 125
    ({"kind": "change", "direction": "down", "by_more_than": 0.25}, 100.0, {74: True, 75: False, 90: False, 130: False}),
    ({"kind": "change", "direction": "up", "by_more_than": 0.25}, 100.0, {126: True, 125: False, 110: False, 50: False}),
    ({"kind": "change", "direction": "either", "by_more_than": 0.25}, 100.0,
     {74: True, 75: False, 100: False, 125: False, 126: True}),
    # absolute change against a baseline of 0.5 by more than 0.25: bounds 0.25 and 0.75
    ({"kind": "change", "direction": "down", "by_more_than": 0.25, "relative": False}, 0.5,
     {0.24: True, 0.25: False, 0.5: False, 0.9: False}),
    ({"kind": "change", "direction": "up", "by_more_than": 0.25, "relative": False}, 0.5,
     {0.76: True, 0.75: False, 0.6: False, 0.1: False}),
    ({"kind": "change", "direction": "either", "by_more_than": 0.25, "relative": False}, 0.5,
     {0.24: True, 0.25: False, 0.5: False, 0.75: False, 0.76: True}),
    # band of 0.5x to 2x a baseline of 100: bounds 50 and 200
    ({"kind": "outside_band", "lower": 0.5, "upper": 2.0}, 100.0, {49: True, 50: False, 100: False, 200: False, 201: True}),
])
def test_conditions_hold_exactly_where_they_should(condition: dict[str, Any], baseline: float | None, cases: dict[float, bool]) -> None:
    values = [float(v) for v in cases]
    for kind, r, ref in (
        ("reference", rule(condition), {"m": baseline} if baseline is not None else {}),
        ("number", rule(condition, baseline=baseline if baseline is not None else 0.0), {}),
    ):
        evals = evaluate_rule(r, history(values), ref)
        assert [e.holds for e in evals] == list(cases.values()), kind
        assert [e.fired for e in evals] == list(cases.values()), kind
        if condition["kind"] not in ("below", "above"):
            assert all(e.baseline == baseline for e in evals)


def test_relative_change_is_a_fraction_of_the_baseline() -> None:
    r = rule({"kind": "change", "direction": "down", "by_more_than": 0.05})  # the course's "accuracy drop > 5%"
    # baseline 0.88: the bound is 0.836
    assert holds(r, [0.84, 0.835, 0.80, 0.88], {"m": 0.88}) == [False, True, True, False]
    r = rule({"kind": "change", "direction": "down", "by_more_than": 0.10})  # "confidence drop > 10%"
    assert holds(r, [0.73, 0.71, 0.5, 0.9], {"m": 0.8}) == [False, True, True, False]


def test_absolute_change_is_in_the_metrics_units() -> None:
    r = rule({"kind": "change", "direction": "either", "by_more_than": 0.10, "relative": False})  # the lab's shift rule
    assert holds(r, [0.45, 0.55, 0.72, 0.25, 0.4], {"m": 0.4}) == [False, True, True, True, False]


def test_relative_change_from_a_zero_baseline_is_no_data() -> None:
    r = rule({"kind": "change", "direction": "either", "by_more_than": 0.1})
    evals = evaluate_rule(r, history([0.0, 5.0]), {"m": 0.0})
    assert [e.holds for e in evals] == [None, None]
    assert not any(e.fired for e in evals)


# -- baselines --------------------------------------------------------------------------------
def test_reference_baseline_is_the_metrics_own() -> None:
    r = rule({"kind": "outside_band", "lower": 0.5, "upper": 1.5})
    evals = evaluate_rule(r, history([40.0, 100.0]), {"m": 100.0, "other": 1000.0})
    assert [e.baseline for e in evals] == [100.0, 100.0]
    assert [e.fired for e in evals] == [True, False]


def test_no_baseline_never_fires() -> None:
    for condition in ({"kind": "change", "by_more_than": 0.1}, {"kind": "outside_band", "lower": 0.5, "upper": 1.5}):
        evals = evaluate_rule(rule(condition), history([0.0, 1000.0]), {"other": 1.0})
        assert [(e.holds, e.fired, e.baseline) for e in evals] == [(None, False, None)] * 2
        assert all(e.threshold == "no baseline" for e in evals)


def test_trailing_baseline_is_the_median_of_earlier_windows() -> None:
    r = rule({"kind": "outside_band", "lower": 0.5, "upper": 1.5}, baseline="trailing", trailing_windows=3)
    values = [100.0, 120.0, None, 80.0, 110.0, 30.0, 200.0]
    evals = evaluate_rule(r, history(values), {"m": 1e9})
    expected = [None, 100.0, statistics.median([100.0, 120.0]), statistics.median([100.0, 120.0]),
                statistics.median([120.0, 80.0]), statistics.median([80.0, 110.0]), statistics.median([80.0, 110.0, 30.0])]
    assert [e.baseline for e in evals] == expected
    # no baseline for the first window, no value for the third
    assert [e.holds for e in evals] == [None, False, None, False, False, True, True]
    assert rule_baseline(r, history(values), 0, {}) is None


def test_trailing_baseline_with_one_earlier_window() -> None:
    r = rule({"kind": "change", "direction": "up", "by_more_than": 1.0}, baseline="trailing", trailing_windows=4)
    assert holds(r, [10.0, 21.0, 20.0]) == [None, True, False]  # baselines: none, 10, median(10, 21) = 15.5


def test_numeric_baseline() -> None:
    r = rule({"kind": "change", "direction": "down", "by_more_than": 0.5}, baseline=200)
    evals = evaluate_rule(r, history([99.0, 100.0, 101.0]), {"m": 1.0})
    assert [e.baseline for e in evals] == [200.0] * 3
    assert [e.fired for e in evals] == [True, False, False]


def test_threshold_rules_need_no_baseline() -> None:
    evals = evaluate_rule(rule({"kind": "below", "value": 0.5}), history([0.4]), {})
    assert evals[0].fired and evals[0].baseline is None


# -- no data --------------------------------------------------------------------------------
def test_missing_value_is_no_data() -> None:
    r = rule({"kind": "below", "value": 0.85})
    evals = evaluate_rule(r, history([None, 0.5]), {})
    assert (evals[0].holds, evals[0].fired, evals[0].value, evals[0].threshold) == (None, False, None, "no data")
    assert evals[1].fired
    # a metric absent from a window's metrics is no data too
    evals = evaluate_rule(rule({"kind": "below", "value": 0.85}, metric="absent"), history([0.1, 0.1]), {})
    assert [(e.holds, e.fired) for e in evals] == [(None, False), (None, False)]


def test_empty_history() -> None:
    assert evaluate_rule(rule({"kind": "below", "value": 1.0}), [], {}) == []


# -- for: N consecutive windows -------------------------------------------------------------
def test_for_n_consecutive_windows() -> None:
    r = rule({"kind": "below", "value": 0.85}, **{"for": 2})
    assert fired(r, [0.9, 0.8, 0.8, 0.9, 0.8, 0.9, 0.8, 0.8, 0.8]) == [False, False, True, False, False, False, False, True, True]
    r3 = rule({"kind": "above", "value": 0}, **{"for": 3})
    evals = evaluate_rule(r3, history([1.0, 1.0, 0.0, 1.0, 1.0, 1.0]), {})
    assert [e.streak for e in evals] == [1, 2, 0, 1, 2, 3]
    assert [e.fired for e in evals] == [False, False, False, False, False, True]


def test_a_gap_between_windows_resets_the_streak() -> None:
    r = rule({"kind": "below", "value": 0.85}, **{"for": 2})
    starts = [START, START + WEEK, START + 3 * WEEK, START + 4 * WEEK]  # the third week is missing
    evals = evaluate_rule(r, history([0.8, 0.9, 0.8, 0.8], starts=starts), {})
    assert [e.fired for e in evals] == [False, False, False, True]
    starts = [START, START + 2 * WEEK, START + 3 * WEEK]
    evals = evaluate_rule(r, history([0.8, 0.8, 0.8], starts=starts), {})
    assert [e.streak for e in evals] == [1, 1, 2]
    assert [e.fired for e in evals] == [False, False, True]


def test_a_window_without_data_does_not_extend_a_streak() -> None:
    r = rule({"kind": "below", "value": 0.85}, **{"for": 2})
    evals = evaluate_rule(r, history([0.8, None, 0.8, 0.8]), {})
    assert [e.fired for e in evals] == [False, False, False, True]


# -- what an evaluation records ---------------------------------------------------------------
def test_evaluation_records_value_baseline_threshold_and_window() -> None:
    r = rule({"kind": "change", "direction": "down", "by_more_than": 0.05}, metric="accuracy")
    (e,) = evaluate_rule(r, history([0.8], metric="accuracy"), {"accuracy": 0.88})
    assert (e.rule, e.metric, e.window_start, e.window_end) == ("r", "accuracy", START, START + WEEK)
    assert (e.value, e.baseline, e.holds, e.streak, e.fired) == (0.8, 0.88, True, 1, True)
    assert "0.836" in e.threshold
    assert e.to_dict()["threshold"] == e.threshold


# -- a rule never fires where its condition does not hold ---------------------------------------
def oracle(condition: dict[str, Any], value: float, baseline: float | None) -> bool | None:
    kind = condition["kind"]
    if kind == "below":
        return value < condition["value"]
    if kind == "above":
        return value > condition["value"]
    if baseline is None:
        return None
    if kind == "outside_band":
        return value < condition["lower"] * baseline or value > condition["upper"] * baseline
    change = (value - baseline) / baseline if condition.get("relative", True) else value - baseline
    by, direction = condition["by_more_than"], condition.get("direction", "either")
    return {"down": change < -by, "up": change > by, "either": abs(change) > by}[direction]


@pytest.mark.parametrize("seed", range(30))
def test_rules_fire_only_where_the_condition_holds_for_n_windows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    conditions = [
        {"kind": "below", "value": float(rng.uniform(0.3, 0.7))},
        {"kind": "above", "value": float(rng.uniform(0.3, 0.7))},
        {"kind": "change", "direction": str(rng.choice(["up", "down", "either"])), "by_more_than": float(rng.uniform(0.05, 0.5)),
         "relative": bool(rng.random() < 0.5)},
        {"kind": "outside_band", "lower": float(rng.uniform(0.5, 0.9)), "upper": float(rng.uniform(1.1, 1.6))},
    ]
    n = 12
    values = [None if rng.random() < 0.1 else float(rng.uniform(0.0, 1.0)) for _ in range(n)]
    offsets = np.cumsum(rng.choice([1, 1, 1, 2], n))  # occasional gaps
    starts = [START + int(k) * WEEK for k in offsets]
    for condition in conditions:
        for_n = int(rng.integers(1, 4))
        ref = {"m": float(rng.uniform(0.2, 0.8))}
        r = rule(condition, **{"for": for_n})
        evals = evaluate_rule(r, history(values, starts=starts), ref)
        streak = 0
        for i, (e, v) in enumerate(zip(evals, values, strict=True)):
            expected_holds = None if v is None else oracle(condition, v, ref["m"])
            assert e.holds == expected_holds, (condition, i)
            contiguous = i > 0 and starts[i] == starts[i - 1] + WEEK
            streak = (streak + 1 if contiguous else 1) if expected_holds else 0
            assert e.fired == (bool(expected_holds) and streak >= for_n), (condition, i)
            if e.fired:
                assert e.holds is True


def test_threshold_from_a_baseline_is_exact_at_decimal_edges():
    """0.8 × (1 − 0.1) is 0.7200000000000001 in binary; a value of 0.72 is not below it."""
    from datetime import datetime, timedelta

    from modelsteward.alerts.rules import evaluate_rule
    from modelsteward.config import AlertRule

    rule = AlertRule(name="r", metric="mean_confidence",
                     condition={"kind": "change", "direction": "down", "by_more_than": 0.1}, baseline=0.8)
    w = datetime(2026, 1, 5)
    history = [(w, w + timedelta(weeks=1), {"mean_confidence": 0.72}),
               (w + timedelta(weeks=1), w + timedelta(weeks=2), {"mean_confidence": 0.7199})]
    assert [e.holds for e in evaluate_rule(rule, history, {})] == [False, True]
