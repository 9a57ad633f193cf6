"""`steward retrain` and `steward feedback` through click's runner: tables, --json, exit codes, errors."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.monitor import Monitor

DAY0 = datetime(2026, 3, 2)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    doc = {"store": "store.duckdb", "models": [{
        "name": "tickets", "task": "binary", "labels": ["urgent", "routine"], "window": "day",
        "features": [{"name": "category", "type": "categorical"}],
        "retraining": {"min_new_labels": 5, "triggers": [
            {"name": "acc_low", "kind": "metric", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}}]},
        "feedback": {"orphan_after": "0m", "expert_review": {"weekly_sample": 3, "high_confidence": 0.8}},
    }]}
    (tmp_path / "steward.yaml").write_text(yaml.safe_dump(doc))
    with Monitor(tmp_path / "steward.yaml") as mon:
        for i in range(10):
            pid = f"p{i}"
            mon.log_prediction(prediction_id=pid, prediction="urgent", confidence=0.5 + i / 20, timestamp=DAY0 + timedelta(hours=i),
                               features={"category": "technical"})
            mon.log_feedback(pid, kind="explicit", label="routine" if i % 2 else "urgent", timestamp=DAY0 + timedelta(hours=i, minutes=5))
        mon.log_feedback("missing", kind="implicit", action="accepted", feedback_id="fb-orphan")
    return tmp_path


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args[:2], "-c", str(project / "steward.yaml"), *args[2:]], catch_exceptions=False) \
        if args[0] in ("retrain", "feedback") and len(args) > 1 else CliRunner().invoke(main, [*args, "-c", str(project / "steward.yaml")])
    return result.exit_code, result.output


def test_check_makes_a_request_that_retrain_list_show_and_export_read(project: Path) -> None:
    code, text = run(project, "check", "--until", "2026-03-03", "--json")
    doc = json.loads(text)
    (made,) = doc["models"][0]["retrain_requests"]
    assert made["trigger"] == "acc_low" and made["status"] == "created"
    assert any("steward feedback orphans" in w for w in doc["models"][0]["warnings"])
    code, text = run(project, "retrain", "list", "--json")
    (req,) = json.loads(text)
    assert code == 0 and req["request_id"] == made["request_id"] and req["export_rows"] == 10
    code, text = run(project, "retrain", "list")
    assert code == 0 and made["request_id"] in text
    code, text = run(project, "retrain", "show", req["request_id"][:9])
    assert code == 0 and "accuracy < 0.85" in text and "export" in text
    target = project / "again.parquet"
    code, text = run(project, "retrain", "export", req["request_id"], "-o", str(target))
    assert code == 0 and pq.read_table(target).num_rows == 10
    code, text = run(project, "retrain", "show", "rr-nope00", "--json")
    assert code == 2 and json.loads(text)["hint"] == "list the requests with `steward retrain list`"


def test_manual_trigger_requires_a_reason(project: Path) -> None:
    result = CliRunner().invoke(main, ["retrain", "trigger", "-c", str(project / "steward.yaml")])
    assert result.exit_code == 2 and "--reason" in result.output
    code, text = run(project, "retrain", "trigger", "--reason", "new product line", "--by", "ana", "--json")
    req = json.loads(text)
    assert code == 0 and (req["kind"], req["reason"], req["requested_by"], req["export_rows"]) == ("manual", "new product line", "ana", 10)


def test_feedback_rates_orphans_and_sample(project: Path) -> None:
    run(project, "check", "--until", "2026-03-03")
    code, text = run(project, "feedback", "rates", "--json")
    (row,) = json.loads(text)
    assert code == 0 and row["feedback.explicit_rate"] == 1.0 and row["feedback.implicit_rate"] == 0.0
    code, text = run(project, "metrics")
    assert code == 0 and "Feedback collection" in text and "100%" in text  # below the metrics in an 80-column terminal
    code, text = run(project, "feedback", "orphans", "--json")
    doc = json.loads(text)
    assert code == 1 and [o["feedback_id"] for o in doc["orphans"]] == ["fb-orphan"] and doc["orphans"][0]["overdue"]
    code, text = run(project, "feedback", "sample", "--week", "2026-03-04", "--json")
    rows = json.loads(text)
    errors = [r["prediction_id"] for r in rows if r["reason"] == "high_confidence_error"]
    # confident (>= 0.8) predictions of `urgent` corrected to `routine`: p7 (0.85) and p9 (0.95), most confident first
    assert code == 0 and errors == ["p9", "p7"]
    assert sum(r["reason"] == "weekly_sample" for r in rows) <= 3
