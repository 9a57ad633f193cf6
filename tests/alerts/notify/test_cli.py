"""``steward notify test | deliver | log`` through the CLI runner, against a real loopback receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from modelsteward.alerts.notify import Dispatcher
from modelsteward.cli import main
from modelsteward.config import load_config
from modelsteward.store import DuckDBStore

from .conftest import SECRET, make_notification


@pytest.fixture
def cfg_path(tmp_path: Path, hook, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STEWARD_TEST_HOOK_SECRET", SECRET)
    hook.secret = SECRET
    path = tmp_path / "steward.yaml"
    path.write_text(f"""
store: s.duckdb
models:
- name: tickets
  task: binary
  labels: [urgent, routine]
notifications:
  receivers:
  - {{name: hook, type: webhook, url: "{hook.url}", secret_env: STEWARD_TEST_HOOK_SECRET}}
  - {{name: broken, type: webhook, url: "http://127.0.0.1:{hook.port}/x", secret_env: STEWARD_TEST_MISSING_SECRET}}
  route: {{receiver: hook, group_wait: 0}}
""")
    return path


def test_notify_test_sends_a_signed_sample(cfg_path: Path, hook) -> None:
    res = CliRunner().invoke(main, ["notify", "test", "hook", "-c", str(cfg_path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["sent"] == 1
    assert len(hook.received) == 1 and hook.received[0].signature_ok is True
    assert hook.received[0].json()["notifications"][0]["labels"]["rule"] == "test_notification"


def test_notify_test_failure_exits_1_and_unknown_receiver_exits_2(cfg_path: Path, hook) -> None:
    res = CliRunner().invoke(main, ["notify", "test", "broken", "-c", str(cfg_path)])
    assert res.exit_code == 1 and "STEWARD_TEST_MISSING_SECRET" in res.output
    res = CliRunner().invoke(main, ["notify", "test", "nope", "-c", str(cfg_path)])
    assert res.exit_code == 2 and "unknown receiver 'nope'" in res.output
    assert hook.requests == 0


def test_deliver_and_log(cfg_path: Path, hook) -> None:
    cfg = load_config(cfg_path)
    with DuckDBStore(cfg.store) as s:
        Dispatcher(s, cfg).submit([make_notification(incident=f"i{k}", rule=f"r{k}") for k in range(3)])
    res = CliRunner().invoke(main, ["notify", "deliver", "-c", str(cfg_path), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert (report["messages_created"], report["sent"]) == (1, 1)  # default group_by [model]: one message for the model
    assert len(hook.received) == 1 and len(hook.received[0].json()["notifications"]) == 3
    res = CliRunner().invoke(main, ["notify", "log", "-c", str(cfg_path), "--json"])
    rows = json.loads(res.output)
    assert [r["status"] for r in rows] == ["sent"]
    res = CliRunner().invoke(main, ["notify", "log", "-c", str(cfg_path), "--attempts", rows[0]["message_id"], "--json"])
    [attempt] = json.loads(res.output)
    assert (attempt["outcome"], attempt["status_code"]) == ("sent", 200)
    res = CliRunner().invoke(main, ["notify", "log", "-c", str(cfg_path)])
    assert res.exit_code == 0 and "sent" in res.output


def test_without_a_notifications_section_says_what_to_add(tmp_path: Path) -> None:
    path = tmp_path / "steward.yaml"
    path.write_text("models: [{name: t, task: binary, labels: [a, b]}]\n")
    res = CliRunner().invoke(main, ["notify", "deliver", "-c", str(path)])
    assert res.exit_code == 2 and "notifications" in res.output


def test_check_sends_what_is_due_and_can_be_told_not_to(tmp_path: Path, hook, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import datetime

    from modelsteward.monitor import Monitor

    monkeypatch.setenv("STEWARD_TEST_HOOK_SECRET", SECRET)
    hook.secret = SECRET
    path = tmp_path / "steward.yaml"
    path.write_text(f"""
store: s.duckdb
models:
- name: tickets
  task: binary
  labels: [urgent, routine]
  alerts:
  - {{name: busy, metric: volume, condition: {{kind: above, value: 3}}, severity: low}}
notifications:
  receivers:
  - {{name: hook, type: webhook, url: "{hook.url}", secret_env: STEWARD_TEST_HOOK_SECRET}}
  route: {{receiver: hook, group_wait: 0}}
""")
    with Monitor(path) as mon:  # 5 predictions in the week of 2026-01-05: volume 5 > 3 fires
        for i in range(5):
            mon.log_prediction(prediction_id=f"p{i}", prediction="urgent", confidence=0.9, timestamp=datetime(2026, 1, 6))
    res = CliRunner().invoke(main, ["check", "-c", str(path), "--until", "2026-01-13", "--no-deliver", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["delivery"] is None and hook.requests == 0
    res = CliRunner().invoke(main, ["check", "-c", str(path), "--until", "2026-01-13", "--json"])  # nothing new; the outbox is sent
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["delivery"]["sent"] == 1
    [received] = hook.received
    assert received.signature_ok is True
    assert [n["labels"]["rule"] for n in received.json()["notifications"]] == ["busy"]
