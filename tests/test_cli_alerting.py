"""`steward alerts` (list, ack, resolve, silence, silences, unsilence, tick) and `steward incidents`
through click's runner, over a real store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.monitor import Monitor

DAY0 = datetime(2026, 3, 2)
DAY = timedelta(days=1)


@pytest.fixture
def project(tmp_path: Path) -> str:
    cfg = tmp_path / "steward.yaml"
    cfg.write_text(yaml.safe_dump({"store": "store.duckdb", "models": [{
        "name": "clf", "task": "binary", "labels": ["a", "b"], "window": "day", "owner": "ml-team",
        "alerts": [{"name": "conf_low", "metric": "mean_confidence", "condition": {"kind": "below", "value": 0.5},
                    "severity": "high", "response_sla": "1h", "labels": {"team": "support"}}],
    }]}))
    return str(cfg)


def log_day(cfg: str, day: int, confidence: float) -> None:
    with Monitor(cfg) as mon:
        mon.log_predictions([{"prediction_id": f"d{day}-{i}", "prediction": "a", "confidence": confidence,
                              "timestamp": DAY0 + day * DAY + timedelta(hours=i)} for i in range(10)])


def run(*args: str) -> Any:
    r = CliRunner().invoke(main, list(args))
    return r


def js(*args: str) -> Any:
    r = run(*args, "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_alerts_incidents_ack_silence_and_history(project: str) -> None:
    cfg = project
    log_day(cfg, 0, 0.3)
    doc = js("check", "-c", cfg, "--until", (DAY0 + DAY).isoformat(), "--fail-on", "never")
    assert [a["rule"] for a in doc["models"][0]["new_alerts"]] == ["conf_low"]

    [state] = js("alerts", "list", "-c", cfg)
    assert (state["rule"], state["state"], state["incident_status"]) == ("conf_low", "firing", "open")
    assert js("alerts", "list", "-c", cfg, "--state", "normal") == []
    [incident] = js("incidents", "-c", cfg)
    iid = incident["incident_id"]
    assert iid == state["incident_id"] and incident["labels"]["team"] == "support"

    at = (DAY0 + DAY + timedelta(minutes=30)).isoformat()
    doc = js("alerts", "ack", iid, "-c", cfg, "--by", "ana", "--comment", "on it", "--at", at)
    assert doc["incident"]["status"] == "acknowledged" and doc["incident"]["acknowledged_by"] == "ana"

    doc = js("alerts", "silence", "model=clf", "team=~supp.*", "-c", cfg, "--by", "ana", "--comment", "rollout",
             "--start", (DAY0 + DAY).isoformat(), "--for", "2d")
    sid = doc["silence"]["silence_id"]
    assert doc["silence"]["matchers"] == ["model=clf", "team=~supp.*"]
    [s] = js("alerts", "silences", "-c", cfg, "--at", (DAY0 + DAY + timedelta(hours=1)).isoformat())
    assert (s["silence_id"], s["status"]) == (sid, "active")

    log_day(cfg, 1, 0.9)                      # clears, inside the silence
    js("check", "-c", cfg, "--until", (DAY0 + 2 * DAY).isoformat(), "--fail-on", "never")
    [incident] = js("incidents", "-c", cfg)
    assert incident["status"] == "resolved"
    doc = js("alerts", "unsilence", sid, "-c", cfg, "--at", (DAY0 + 2 * DAY + timedelta(hours=1)).isoformat())
    assert [n["kind"] for n in doc["notifications"]] == ["resolved"]
    assert js("alerts", "silences", "-c", cfg, "--at", (DAY0 + 2 * DAY + timedelta(hours=2)).isoformat()) == []
    assert len(js("alerts", "silences", "-c", cfg, "--all")) == 1

    detail = js("incidents", iid, "-c", cfg)
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds[:3] == ["opened", "notified_firing", "acknowledged"] and "resolved_silenced" in kinds
    assert kinds[-1] == "notified_resolved"
    assert [(t["from_state"], t["to_state"]) for t in detail["transitions"]] == [("normal", "firing"), ("firing", "resolved")]
    r = run("incidents", iid, "-c", cfg)
    assert r.exit_code == 0 and "acknowledged by ana" in r.output

    # the fired-alerts listing of before is unchanged
    assert [a["rule"] for a in js("alerts", "-c", cfg)] == ["conf_low"]


def test_resolving_a_resolved_incident_is_a_clear_error(project: str) -> None:
    log_day(project, 0, 0.3)
    js("check", "-c", project, "--until", (DAY0 + DAY).isoformat(), "--fail-on", "never")
    [incident] = js("incidents", "-c", project)
    js("alerts", "resolve", incident["incident_id"], "-c", project, "--by", "ana", "--comment", "fixed")
    r = run("alerts", "resolve", incident["incident_id"], "-c", project, "--by", "bo", "--json")
    assert r.exit_code == 2
    doc = json.loads(r.output)
    assert doc["error"] == "incident_state" and doc["status"] == "resolved" and "by ana" in doc["message"]


def test_escalation_tick_and_bad_input(project: str) -> None:
    log_day(project, 0, 0.3)
    js("check", "-c", project, "--until", (DAY0 + DAY).isoformat(), "--fail-on", "never")
    doc = js("alerts", "tick", "-c", project, "--at", (DAY0 + DAY + timedelta(minutes=59)).isoformat())
    assert doc["notifications"] == []
    doc = js("alerts", "tick", "-c", project, "--at", (DAY0 + DAY + timedelta(hours=1)).isoformat())
    assert [(n["kind"], n["escalation_level"]) for n in doc["notifications"]] == [("escalated", 2)]
    r = run("alerts", "silence", "model", "-c", project, "--by", "ana", "--comment", "x", "--for", "1h")
    assert r.exit_code == 2 and "name=value" in r.output
    r = run("alerts", "ack", "inc-nope", "-c", project, "--by", "ana")
    assert r.exit_code == 2 and "steward incidents" in r.output
