"""Through the real Monitor: one bad window with 20 firing rules is one message; a dead receiver never stops monitoring."""

from __future__ import annotations

import json
import logging
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from modelsteward.alerts.notify import Dispatcher
from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor

T0 = datetime(2026, 1, 5, 9)          # a Monday: the window is the week of 2026-01-05
CHECK_AT = datetime(2026, 1, 12, 1)    # after the window ended


def config(receivers: list[dict[str, Any]], route: dict[str, Any], n_rules: int = 20) -> StewardConfig:
    # 25 predictions in the window: volume 25 is above each threshold 0..19, so all 20 rules fire
    rules = [{"name": f"volume_over_{k}", "metric": "volume", "condition": {"kind": "above", "value": k},
              "severity": "high" if k % 2 else "medium", "runbook": f"https://runbooks.example/v{k}"} for k in range(n_rules)]
    return StewardConfig.model_validate({
        "models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"], "owner": "ml-team", "alerts": rules}],
        "notifications": {"receivers": receivers, "route": route}})


def bad_window(mon: Monitor) -> None:
    for i in range(25):
        mon.log_prediction(prediction_id=f"p{i}", prediction="urgent", confidence=0.9, timestamp=T0)


def test_twenty_firing_rules_of_one_window_make_one_message_per_group(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    cfg = config([{"name": "audit", "type": "log", "url": str(audit)}], {"receiver": "audit", "group_wait": "30s"})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    bad_window(mon)
    report = mon.check(until=CHECK_AT)
    firing = [n for n in report.notifications if n.kind == "firing"]
    assert len(firing) == 20
    d = Dispatcher(mon.store, cfg, seed=0)
    assert d.deliver_due(CHECK_AT).sent == 0                    # group_wait
    assert d.deliver_due(CHECK_AT.replace(second=30)).sent == 1  # one model, default group_by [model]: one message
    [line] = audit.read_text().splitlines()
    msg = json.loads(line)
    assert sorted(n["labels"]["rule"] for n in msg["notifications"]) == sorted(f"volume_over_{k}" for k in range(20))
    assert msg["title"] == "[FIRING:20] model=tickets"


def test_grouped_by_severity_sends_one_message_per_severity(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    cfg = config([{"name": "audit", "type": "log", "url": str(audit)}],
                 {"receiver": "audit", "group_wait": 0, "group_by": ["model", "severity"]})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    bad_window(mon)
    mon.check(until=CHECK_AT)
    assert Dispatcher(mon.store, cfg, seed=0).deliver_due(CHECK_AT).sent == 2
    counts = {json.loads(x)["group_labels"]["severity"]: len(json.loads(x)["notifications"]) for x in audit.read_text().splitlines()}
    assert counts == {"high": 10, "medium": 10}


def test_a_dead_receiver_never_stops_monitoring(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = config([{"name": "hook", "type": "webhook", "url": f"http://127.0.0.1:{port}/hook", "timeout": 1}],
                 {"receiver": "hook", "group_wait": 0}, n_rules=3)
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    bad_window(mon)
    report = mon.check(until=CHECK_AT)             # submits through the default Dispatcher: must not raise
    assert len([n for n in report.notifications if n.kind == "firing"]) == 3
    with caplog.at_level(logging.WARNING):
        delivery = Dispatcher(mon.store, cfg, seed=0).deliver_due(CHECK_AT)
    assert (delivery.sent, delivery.failed, delivery.retry_scheduled) == (0, 1, 1)
    assert mon.store.query("SELECT status, attempts FROM notification_messages") == [("retrying", 1)]
