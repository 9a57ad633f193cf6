"""End to end: the course lab's eight weeks through ``Monitor.check``, with the lab's four alert
rules, into incidents and notifications.

Expected incidents come from the lab's own code run verbatim (global ``np.random.seed(42)``,
pandas), not from the product: a rule fires in the weeks where the lab's weekly number crosses
its threshold; each run of consecutive firing weeks is one incident, opened at the end of its
first week and resolved at the end of the first clear week. Every SLA of these rules (1h, 24h,
next business day, twice along the path) is shorter than a week, so an incident still open at
the next weekly check has passed both remaining steps of the escalation path by then.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from modelsteward.lab import DEMO_START, lab_draws, lab_events
from modelsteward.monitor import Monitor

from .helpers import Capture

LAB_RULES = ("accuracy_drop", "confidence_drop", "distribution_shift", "volume_anomaly")
WEEK = timedelta(weeks=1)


def lab_weekly() -> tuple[pd.DataFrame, float]:
    """The lab exercise's code, as in mlops-week9.md: weekly means and the training technical share."""
    np.random.seed(42)
    training = pd.DataFrame({"confidence": np.random.beta(8, 2, 1000),
                             "category_technical": np.random.choice([0, 1], 1000, p=[0.6, 0.4]),
                             "resolution_hours": np.random.exponential(4, 1000)})
    weeks = []
    for week in range(8):
        n = 200
        if week < 4:
            data = {"week": week + 1, "confidence": np.random.beta(8, 2, n),
                    "category_technical": np.random.choice([0, 1], n, p=[0.6, 0.4]),
                    "accuracy": np.random.choice([0, 1], n, p=[0.12, 0.88])}
        else:
            data = {"week": week + 1, "confidence": np.random.beta(6, 3, n),
                    "category_technical": np.random.choice([0, 1], n, p=[0.3, 0.7]),
                    "accuracy": np.random.choice([0, 1], n, p=[0.20, 0.80])}
        weeks.append(pd.DataFrame(data))
    weekly = pd.concat(weeks).groupby("week").agg({"accuracy": "mean", "confidence": "mean", "category_technical": "mean"})
    return weekly, float(training["category_technical"].mean())


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(first, last) week index of each run of consecutive True."""
    out: list[tuple[int, int]] = []
    for i, f in enumerate(flags):
        if f and (not out or out[-1][1] != i - 1):
            out.append((i, i))
        elif f:
            out[-1] = (out[-1][0], i)
    return out


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = Path(tmp_path_factory.mktemp("lab"))
    with resources.as_file(resources.files("modelsteward") / "templates" / "steward.yaml") as template:
        shutil.copyfile(template, folder / "steward.yaml")
    doc = yaml.safe_load((folder / "steward.yaml").read_text())
    doc["models"][0]["alerts"] = [r for r in doc["models"][0]["alerts"] if r["name"] in LAB_RULES]
    (folder / "steward.yaml").write_text(yaml.safe_dump(doc))
    events = lab_events(lab_draws())
    pq.write_table(pa.table(events.training), folder / "training.parquet")
    capture = Capture()
    by_week: dict[int, tuple[list[Any], list[Any]]] = {}
    week_of = {p["prediction_id"]: (p["timestamp"] - DEMO_START).days // 7 + 1 for p in events.predictions}
    for p in events.predictions:
        by_week.setdefault(week_of[p["prediction_id"]], ([], []))[0].append(p)
    for f in events.feedback:
        by_week[week_of[f["prediction_id"]]][1].append(f)
    sent_per_check = []
    with Monitor(folder / "steward.yaml", notifier=capture) as mon:
        for week in sorted(by_week):
            mon.log_predictions(by_week[week][0])
            mon.log_feedbacks(by_week[week][1])
            report = mon.check(until=DEMO_START + week * WEEK)
            sent_per_check.append(report.notifications)
        incidents = mon.alerting.incidents()
        instances = mon.alerting.instances()
    return {"sent": capture.sent, "per_check": sent_per_check, "incidents": incidents, "instances": instances}


def expected_firing() -> dict[str, list[bool]]:
    weekly, train_technical = lab_weekly()
    return {
        "accuracy_drop": [a < 0.85 for a in weekly["accuracy"]],
        "confidence_drop": [c < 0.70 for c in weekly["confidence"]],
        "distribution_shift": [abs(t - train_technical) > 0.10 for t in weekly["category_technical"]],
        "volume_anomaly": [False] * 8,            # 200 predictions every week
    }


def test_each_lab_rule_opens_one_incident_per_run_of_firing_weeks(lab: dict[str, Any]) -> None:
    expected = expected_firing()
    assert any(expected["accuracy_drop"]) and any(expected["distribution_shift"])  # the lab's drift shows
    for rule, flags in expected.items():
        want = runs(flags)
        got = sorted((i for i in lab["incidents"] if i["rule"] == rule), key=lambda i: i["opened_at"])
        assert [(i["opened_at"], i["fire_count"]) for i in got] == [
            (DEMO_START + (a + 1) * WEEK, b - a + 1) for a, b in want], rule
        for i, (_, b) in zip(got, want, strict=True):
            if b < 7:
                assert i["status"] == "resolved" and i["resolved_at"] == DEMO_START + (b + 2) * WEEK
            else:
                assert i["status"] != "resolved"


def test_notifications_once_per_transition_and_escalation_of_the_unanswered(lab: dict[str, Any]) -> None:
    expected = expected_firing()
    for rule, flags in expected.items():
        want = runs(flags)
        sent = [n for n in lab["sent"] if n.labels["rule"] == rule]
        firing = [n for n in sent if n.kind == "firing"]
        resolved = [n for n in sent if n.kind == "resolved"]
        escalated = [n for n in sent if n.kind == "escalated"]
        assert [n.at for n in firing] == [DEMO_START + (a + 1) * WEEK for a, _ in want], rule
        assert [n.at for n in resolved] == [DEMO_START + (b + 2) * WEEK for _, b in want if b < 7], rule
        # an incident still open at the next check (a run of two weeks or more) went up steps 2 and 3
        assert [n.escalation_level for n in escalated] == [lvl for a, b in want if b > a for lvl in (2, 3)], rule


def test_the_accuracy_notification_carries_what_a_responder_needs(lab: dict[str, Any]) -> None:
    weekly, _ = lab_weekly()
    first = next(n for n in lab["sent"] if n.kind == "firing" and n.labels["rule"] == "accuracy_drop")
    week = (first.window_start - DEMO_START).days // 7 + 1
    assert first.value == pytest.approx(weekly.loc[week, "accuracy"], abs=1e-12)
    assert (first.threshold, first.severity, first.response_sla, first.owner) == (0.85, "high", "1h", "support-ml-team")
    assert first.runbook == "docs/runbooks.md#accuracy-drop" and first.escalate_to == "support-ml-team"
    assert dict(first.labels) == {"model": "ticket-classifier", "rule": "accuracy_drop", "severity": "high",
                                  "owner": "support-ml-team"}


def test_volume_anomaly_without_a_trailing_baseline_keeps_its_state(lab: dict[str, Any]) -> None:
    [vol] = [i for i in lab["instances"] if i["rule"] == "volume_anomaly"]
    assert vol["state"] == "normal" and vol["last_window_start"] == DEMO_START + 7 * WEEK


def test_check_reports_what_it_sent(lab: dict[str, Any]) -> None:
    assert [n for per in lab["per_check"] for n in per] == lab["sent"]
