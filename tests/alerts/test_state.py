"""The alert state machine, driven window by window on both sides of every timer and count.

Expected states are worked out by hand from the rule's settings and the window times in each
test; the windows are weekly and end at START + (i + 1) weeks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from modelsteward.alerts.rules import evaluate_rule
from modelsteward.alerts.state import AlertState, Observation, Timers, Transition, step
from modelsteward.config import AlertRule, parse_duration

START = datetime(2026, 1, 5)
WEEK = timedelta(weeks=1)
BELOW = {"kind": "below", "value": 0.85}
LOW, HIGH = 0.80, 0.90   # a value where the condition holds, and one where it is clear


def rule(**kw: Any) -> AlertRule:
    return AlertRule.model_validate({"name": "acc", "metric": "accuracy", "condition": BELOW, **kw})


def run(values: list[float | None], timers: Timers | None = None, **rule_kw: Any) -> tuple[list[str], list[Transition], AlertState]:
    """Evaluate the rule over weekly windows and run the state machine; the shown state after each window."""
    r = rule(**rule_kw)
    history = [(START + i * WEEK, START + (i + 1) * WEEK, {"accuracy": v}) for i, v in enumerate(values)]
    t = timers or Timers(max_flips=None)
    t = replace(t, keep_firing_for=parse_duration(r.keep_firing_for) if r.keep_firing_for else None, no_data=r.no_data)
    s, states, transitions = AlertState(), [], []
    for e in evaluate_rule(r, history, {}):
        s, ts = step(s, Observation(e.window_end, e.window_start, e.holds, e.fired, e.value, e.threshold), t)
        states.append(s.state)
        transitions += ts
    return states, transitions, s


# -- for: pending until the condition held for `for` windows ------------------------------------
def test_for_one_window_fires_at_once() -> None:
    assert run([HIGH, LOW, HIGH])[0] == ["normal", "firing", "resolved"]


def test_for_two_windows_one_short_stays_pending_and_returns_to_normal() -> None:
    states, transitions, _ = run([LOW, HIGH], **{"for": 2})
    assert states == ["pending", "normal"]
    assert [(t.from_state, t.to_state) for t in transitions] == [("normal", "pending"), ("pending", "normal")]
    assert all(t.reason for t in transitions)


def test_for_two_windows_reached_fires_then_resolves() -> None:
    states, transitions, _ = run([LOW, LOW, HIGH], **{"for": 2})
    assert states == ["pending", "firing", "resolved"]
    assert [t.at for t in transitions] == [START + WEEK, START + 2 * WEEK, START + 3 * WEEK]


# -- keep_firing_for: measured from the end of the first clear window ---------------------------
@pytest.mark.parametrize(("keep", "expected"), [
    # clear windows end 1w, 2w, 3w after the first clear window's end... minus one: the first clear
    # window itself is at 0. Resolved at the first clear window whose end is >= keep after it.
    ("1w", ["firing", "firing", "resolved", "resolved"]),
    ("2w", ["firing", "firing", "firing", "resolved"]),
    ("13d", ["firing", "firing", "firing", "resolved"]),     # 1w < 13d: kept; 2w >= 13d: resolved
    ("15d", ["firing", "firing", "firing", "firing"]),        # 2w < 15d: still kept at the last window
])
def test_keep_firing_for_on_both_sides(keep: str, expected: list[str]) -> None:
    states, _, _ = run([LOW, HIGH, HIGH, HIGH], keep_firing_for=keep)
    assert states == expected


def test_keep_firing_for_restarts_when_the_condition_returns() -> None:
    # clear at w1 (kept), holds at w2 (clock reset), clear at w3 (kept again: 0 < 2w), w4 (1w < 2w), w5 resolves (2w)
    states, _, _ = run([LOW, HIGH, LOW, HIGH, HIGH, HIGH], keep_firing_for="2w")
    assert states == ["firing", "firing", "firing", "firing", "firing", "resolved"]


def test_keep_firing_for_reason_says_until_when() -> None:
    _, transitions, s = run([LOW, HIGH], keep_firing_for="2w")
    assert s.state == "firing" and s.clear_since == START + 2 * WEEK
    _, transitions, _ = run([LOW, HIGH, HIGH, HIGH], keep_firing_for="2w")
    assert "keep_firing_for 2w" in transitions[-1].reason


# -- no data ------------------------------------------------------------------------------------
def test_no_data_keep_holds_every_state() -> None:
    assert run([LOW, None, None])[0] == ["firing", "firing", "firing"]
    assert run([HIGH, None])[0] == ["normal", "normal"]
    states, transitions, _ = run([LOW, None, HIGH])
    assert states == ["firing", "firing", "resolved"] and len(transitions) == 2


def test_no_data_resolve_counts_as_clear() -> None:
    assert run([LOW, None], no_data="resolve")[0] == ["firing", "resolved"]
    assert run([LOW, None, None], no_data="resolve", keep_firing_for="1w")[0] == ["firing", "firing", "resolved"]


def test_no_data_alert_is_its_own_alerting_state() -> None:
    states, transitions, _ = run([HIGH, None, HIGH], no_data="alert")
    assert states == ["normal", "no_data", "resolved"]
    assert "no data" in transitions[0].reason
    assert run([LOW, None, LOW], no_data="alert")[0] == ["firing", "no_data", "firing"]


# -- flapping: more than max_flips flips within the period -> held firing -----------------------
ALTERNATING = [LOW, HIGH, LOW, HIGH, LOW, HIGH]


def test_flips_up_to_the_limit_are_not_flapping() -> None:
    # 4 flips (w0 on, w1 off, w2 on, w3 off) with max_flips 4: still following the condition
    states, _, s = run(ALTERNATING[:4], Timers(max_flips=4, flap_period=10 * WEEK))
    assert states == ["firing", "resolved", "firing", "resolved"] and not s.flapping
    assert len(s.flips) == 4


def test_one_flip_more_than_the_limit_holds_firing() -> None:
    states, transitions, s = run(ALTERNATING[:5] + [HIGH], Timers(max_flips=4, flap_period=10 * WEEK))
    # the 5th flip (w4, on) marks it flapping: held firing, and w5's clear is recorded but held
    assert states == ["firing", "resolved", "firing", "resolved", "firing", "firing"]
    assert s.flapping and s.raw == "resolved"
    flap = [t for t in transitions if t.flapping]
    marked = [t for t in flap if t.reason.startswith("flapping:")]
    assert len(marked) == 1 and "5 flips within 10w" in marked[0].reason and marked[0].at == START + 5 * WEEK
    assert flap[-1].held and (flap[-1].from_state, flap[-1].to_state) == ("firing", "resolved")


def test_flapping_ends_when_flips_leave_the_period() -> None:
    # flips at the ends of w0..w5 (START+1w .. START+6w: the held clear of w5 counts too); then
    # clear. At the end of window i, a flip at START+kw is within the 10w period while
    # (i+1-k)w < 10w. More than 4 flips remain up to i = 10 (only START+1w has left); at i = 11
    # START+2w leaves too, 4 remain, and the alert takes its condition's state.
    timers = Timers(max_flips=4, flap_period=10 * WEEK)
    states, transitions, s = run(ALTERNATING[:5] + [HIGH] * 6, timers)      # windows 0..10
    assert states[-1] == "firing" and s.flapping and len(s.flips) == 5
    states, transitions, s = run(ALTERNATING[:5] + [HIGH] * 7, timers)      # window 11
    assert states[-1] == "resolved" and not s.flapping
    assert "stopped flapping" in transitions[-1].reason and transitions[-1].to_state == "resolved"


def test_flapping_off_follows_every_flip() -> None:
    assert run(ALTERNATING)[0] == ["firing", "resolved"] * 3
