"""The labelled export of a request, and the command and webhook a request sets off (a real
subprocess, a real HTTP receiver on loopback)."""

from __future__ import annotations

import json
import socket
import sys
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from modelsteward.lab import DEMO_START, lab_draws, lab_events
from modelsteward.monitor import Monitor
from modelsteward.retrain.evaluate import request_retrain
from modelsteward.retrain.requests import get_request, list_requests

from .conftest import DAY0, daily_config, log_days, write_lab


def _expected_labels(events: Any, until: datetime) -> dict[str, tuple[str, str]]:
    """Ground truth by the documented precedence, by hand: expert, explicit, outcome, implicit acceptance."""
    pred = {p["prediction_id"]: p for p in events.predictions}
    rank = {"expert": 0, "explicit": 1, "outcome": 2, "implicit": 3}
    best: dict[str, tuple[int, str, str]] = {}
    for f in events.feedback:
        label = f.get("label") or (pred[f["prediction_id"]]["prediction"] if f.get("action") == "accepted" else None)
        if label is None:
            continue
        r = rank[f["kind"]]
        if f["prediction_id"] not in best or r < best[f["prediction_id"]][0]:
            best[f["prediction_id"]] = (r, label, f["kind"])
    return {pid: (lab, src) for pid, (_, lab, src) in best.items() if pred[pid]["timestamp"] < until}


def test_lab_export_holds_every_labelled_prediction_before_the_request(tmp_path: Path, opened: list[Monitor]) -> None:
    config = write_lab(tmp_path)
    mon = Monitor(config, store=tmp_path / "s.duckdb")
    opened.append(mon)
    events = lab_events(lab_draws())
    mon.log_predictions(events.predictions)
    mon.log_feedbacks(events.feedback)
    mon.check(until=DEMO_START + timedelta(weeks=8))
    req = next(r for r in list_requests(mon.store) if r.trigger == "retrain_accuracy_below_85")
    assert Path(req.export_path).parent == tmp_path / "retrain-exports" / "ticket-classifier"  # relative to steward.yaml
    table = pq.read_table(req.export_path)
    assert table.column_names == ["prediction_id", "timestamp", "model_version", "category", "prediction", "confidence",
                                  "label", "label_source"]
    expected = _expected_labels(events, req.as_of)
    rows = table.to_pylist()
    assert req.export_rows == len(rows) == len(expected)
    assert {r["prediction_id"]: (r["label"], r["label_source"]) for r in rows} == expected
    by_id = {p["prediction_id"]: p for p in events.predictions}
    for r in rows:
        p = by_id[r["prediction_id"]]
        assert (r["timestamp"], r["prediction"], r["confidence"], r["category"], r["model_version"]) == (
            p["timestamp"], p["prediction"], p["confidence"], p["features"]["category"], "v1")
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)


RECORDER = ("import json, os, sys; open(sys.argv[1], 'w').write(json.dumps({'argv': sys.argv[2:], "
            "'env': {k: v for k, v in os.environ.items() if k.startswith('STEWARD_') and not k.startswith('STEWARD_TEST_')}}))")


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Any:
    _Receiver.received = []
    _Receiver.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Receiver
    server.shutdown()
    server.server_close()


def test_command_and_webhook_are_told_of_a_new_request(tmp_path: Path, opened: list[Monitor], receiver: Any) -> None:
    server, handler = receiver
    record = tmp_path / "told.json"
    cfg = daily_config({
        "triggers": [{"name": "acc_low", "kind": "metric", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}}],
        "min_new_labels": 0, "export_dir": str(tmp_path / "exports"),
        "command": [sys.executable, "-c", RECORDER, str(record), "--request", "{request_id}", "--data={export_path}", "{model} {trigger}"],
        "webhook": {"url": f"http://127.0.0.1:{server.server_port}/hooks/retrain", "headers": {"X-Token": "t0"}},
    })
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, [1.0, 0.5])
    (made,) = mon.check(until=DAY0 + timedelta(days=2)).retrain_requests
    req = get_request(mon.store, made.request_id)
    told = json.loads(record.read_text())
    # each placeholder replaced inside its own argument: a value never splits into two arguments
    assert told["argv"] == ["--request", req.request_id, f"--data={req.export_path}", "tickets acc_low"]
    assert told["env"] == {"STEWARD_REQUEST_ID": req.request_id, "STEWARD_EXPORT_PATH": req.export_path,
                           "STEWARD_MODEL": "tickets", "STEWARD_TRIGGER": "acc_low"}
    (hook,) = handler.received
    assert hook["path"] == "/hooks/retrain" and hook["headers"]["X-Token"] == "t0"
    assert hook["json"]["request_id"] == req.request_id and hook["json"]["export_path"] == req.export_path
    assert hook["json"]["evidence"]["windows"][0]["value"] == 0.5
    assert [(a["action"], a["ok"]) for a in req.actions] == [("export", True), ("command", True), ("webhook", True)]
    assert req.actions[2]["status"] == 200


def test_failures_are_recorded_and_the_request_kept(tmp_path: Path, opened: list[Monitor], receiver: Any) -> None:
    server, handler = receiver
    handler.status = 503
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    cfg = daily_config({"export_dir": str(tmp_path / "exports"), "command": [sys.executable, "-c", "import sys; sys.exit(3)"],
                        "webhook": {"url": f"http://127.0.0.1:{server.server_port}/x", "timeout": 5}})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, [1.0])
    req = request_retrain(mon, reason="emergency", now=DAY0 + timedelta(days=1))
    assert [(a["action"], a["ok"]) for a in req.actions] == [("export", True), ("command", False), ("webhook", False)]
    assert req.actions[1]["exit_code"] == 3 and req.actions[2]["status"] == 503
    assert "steward retrain notify" in req.actions[2]["hint"]
    cfg2 = daily_config({"export_dir": str(tmp_path / "exports"), "command": ["no-such-program-for-steward"],
                         "webhook": {"url": f"http://127.0.0.1:{dead}/x", "timeout": 5}})
    mon2 = Monitor(cfg2, store=tmp_path / "s2.duckdb")
    opened.append(mon2)
    log_days(mon2, [1.0])
    req2 = request_retrain(mon2, reason="emergency", now=DAY0 + timedelta(days=1))
    stored = get_request(mon2.store, req2.request_id)
    assert stored.status == "exported" and [a["ok"] for a in stored.actions] == [True, False, False]
    assert "command not found" in stored.actions[1]["error"] and "could not reach" in stored.actions[2]["error"]


def test_export_failure_says_what_to_do(tmp_path: Path, opened: list[Monitor]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the export folder should be")
    mon = Monitor(daily_config({"export_dir": str(blocker)}), store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, [1.0])
    req = request_retrain(mon, reason="emergency", now=DAY0 + timedelta(days=1))
    assert req.status == "export_failed" and req.export_path is None
    assert "steward retrain export" in req.actions[0]["hint"]
    assert get_request(mon.store, req.request_id[:8]).status == "export_failed"  # a prefix finds it
