"""Response SLAs and escalation along the path, on both sides of every deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelsteward.alerts.escalation import sla_deadline, sla_note
from modelsteward.config import load_config
from modelsteward.errors import ConfigError

from .helpers import LOW, Driver, config

PATH = {"escalation": [{"level": "first_responder"}, {"level": "escalation", "who": "ml-lead"},
                       {"level": "executive", "who": "vp-ml", "after": "30m"}]}
SECOND = timedelta(seconds=1)


def opened(d: Driver) -> datetime:
    d.window(LOW)
    return d.incidents()[0]["opened_at"]


def test_first_responder_is_the_owner_and_the_clock_starts_when_told() -> None:
    d = Driver(config(alerting=PATH))
    t0 = opened(d)
    assert d.capture.sent[0].escalate_to == "ml-team" and d.capture.sent[0].at == t0
    assert d.incidents()[0]["escalation_level"] == 1 and d.incidents()[0]["escalated_at"] == t0


def test_unacknowledged_incident_escalates_step_by_step() -> None:
    d = Driver(config(alerting=PATH))
    t0 = opened(d)
    assert d.engine.tick(now=t0 + timedelta(hours=1) - SECOND) == []           # SLA 1h not over
    [esc] = d.engine.tick(now=t0 + timedelta(hours=1))                          # SLA over: step 2
    assert (esc.kind, esc.escalation_level, esc.escalate_to, esc.at) == ("escalated", 2, "ml-lead", t0 + timedelta(hours=1))
    assert "not acknowledged" in d.engine.incident(esc.incident_id)["events"][-1]["reason"]
    assert d.engine.tick(now=t0 + timedelta(hours=1, minutes=30) - SECOND) == []  # step 3 is 30m after step 2
    [top] = d.engine.tick(now=t0 + timedelta(hours=1, minutes=30))
    assert (top.escalation_level, top.escalate_to) == (3, "vp-ml")
    assert d.engine.tick(now=t0 + timedelta(days=30)) == []                     # the path has ended
    assert d.capture.kinds() == ["firing", "escalated", "escalated"]


def test_a_long_silence_of_the_responders_passes_several_steps_at_their_due_times() -> None:
    d = Driver(config(alerting=PATH))
    t0 = opened(d)
    sent = d.engine.tick(now=t0 + timedelta(hours=5))
    assert [(n.escalation_level, n.at) for n in sent] == [(2, t0 + timedelta(hours=1)), (3, t0 + timedelta(hours=1, minutes=30))]


def test_acknowledging_within_the_sla_stops_escalation() -> None:
    d = Driver(config(alerting=PATH))
    t0 = opened(d)
    d.engine.acknowledge(d.incidents()[0]["incident_id"], by="ana", now=t0 + timedelta(minutes=59))
    assert d.engine.tick(now=t0 + timedelta(hours=3)) == []
    assert d.capture.kinds() == ["firing", "acknowledged"]


def test_escalate_until_resolved_goes_on_after_acknowledgement() -> None:
    d = Driver(config(alerting={**PATH, "escalate_until": "resolved"}))
    t0 = opened(d)
    iid = d.incidents()[0]["incident_id"]
    d.engine.acknowledge(iid, by="ana", now=t0 + timedelta(minutes=10))
    assert [n.escalation_level for n in d.engine.tick(now=t0 + timedelta(hours=1))] == [2]
    d.engine.resolve(iid, by="ana", now=t0 + timedelta(hours=1, minutes=1))
    assert d.engine.tick(now=t0 + timedelta(hours=9)) == []


def test_a_step_nobody_fills_still_escalates_and_says_what_to_fill() -> None:
    d = Driver(config())            # the course's default path: nobody set for escalation or executive
    t0 = opened(d)
    first, second = d.engine.tick(now=t0 + timedelta(hours=2))
    assert (first.escalation_level, first.escalate_to) == (2, None)
    events = d.engine.incident(first.incident_id)["events"]
    reasons = {e["escalation_level"]: e["reason"] for e in events if e["kind"] == "escalated"}
    assert "fill alerting.escalation[1].who" in reasons[2] and "fill alerting.escalation[2].who" in reasons[3]
    assert second.escalate_to is None


def test_no_sla_means_no_escalation() -> None:
    d = Driver(config(rule={"response_sla": None}, alerting=PATH))
    t0 = opened(d)
    assert d.engine.tick(now=t0 + timedelta(days=10)) == []


@pytest.mark.parametrize(("opened_at", "deadline"), [
    (datetime(2026, 1, 9, 15, 0), datetime(2026, 1, 13)),     # Friday afternoon -> end of Monday
    (datetime(2026, 1, 10, 9, 0), datetime(2026, 1, 13)),     # Saturday -> end of Monday
    (datetime(2026, 1, 12, 0, 0), datetime(2026, 1, 14)),     # Monday -> end of Tuesday
    (datetime(2026, 1, 8, 23, 59), datetime(2026, 1, 10)),    # Thursday night -> end of Friday
])
def test_next_business_day_is_a_calendar_deadline(opened_at: datetime, deadline: datetime) -> None:
    assert deadline.weekday() in (1, 2, 3, 4, 5) and sla_deadline("next business day", opened_at) == deadline


def test_next_business_day_escalates_on_both_sides_of_its_deadline() -> None:
    d = Driver(config(rule={"response_sla": "next business day"}, alerting=PATH))
    t0 = opened(d)                                   # the end of the first window + 5 min: Monday 2026-01-12 00:05
    assert t0.weekday() == 0
    deadline = datetime(2026, 1, 14)                 # end of Tuesday
    assert d.engine.tick(now=deadline - SECOND) == []
    assert [n.escalation_level for n in d.engine.tick(now=deadline)] == [2]


def test_sla_notes_flag_the_calendar_reading() -> None:
    assert sla_note("1h") == "1h"
    assert "next weekday" in sla_note("next business day") and "holidays" in sla_note("next business day")


def test_escalation_after_must_be_a_duration(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "models:\n  - name: m\n    task: binary\n    labels: [a, b]\n    alerting:\n      escalation:\n"
        "        - {level: first_responder}\n        - {level: escalation, after: soon}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == "models[0].alerting.escalation[1].after"
