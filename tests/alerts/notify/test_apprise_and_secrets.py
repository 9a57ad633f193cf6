"""apprise through its json:// scheme to a real loopback server; no secret in any log, error or file."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from pathlib import Path

import pytest

from modelsteward.alerts.notify import Dispatcher
from modelsteward.store import DuckDBStore

from .conftest import SECRET, make_notification, notify_config

pytest.importorskip("apprise")

T0 = datetime(2026, 1, 12, 9, 0)
TOKEN = "apprise-token-5d9a77"


@pytest.fixture
def store(tmp_path: Path):
    with DuckDBStore(tmp_path / "a.duckdb") as s:
        yield s


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_TEST_APPRISE_TOKEN", TOKEN)
    monkeypatch.setenv("STEWARD_TEST_HOOK_SECRET", SECRET)


def apprise_config(port: int, log_file: Path):
    return notify_config(
        [{"name": "chat", "type": "apprise", "url": f"json://steward:${{STEWARD_TEST_APPRISE_TOKEN}}@127.0.0.1:{port}/hook"},
         {"name": "signed", "type": "webhook", "url": f"http://127.0.0.1:{port}/signed", "secret_env": "STEWARD_TEST_HOOK_SECRET",
          "headers": {"Authorization": "Bearer ${STEWARD_TEST_APPRISE_TOKEN}"}},
         {"name": "audit", "type": "log", "url": str(log_file)}],
        {"receiver": "chat", "group_wait": 0, "routes": [
            {"match": {"severity": "high"}, "receiver": "chat", "continue": True},
            {"match": {"severity": "high"}, "receiver": "signed", "continue": True},
            {"match": {"severity": "high"}, "receiver": "audit"}]},
        retry={"max_attempts": 3, "backoff": "10s", "jitter": 0.0},
        dashboard_url="https://steward.example/models/{model}",
    )


def test_apprise_json_reaches_the_loopback_server(hook, store, tmp_path: Path) -> None:
    d = Dispatcher(store, apprise_config(hook.port, tmp_path / "audit.jsonl"), seed=0)
    d.submit([make_notification(rule="drift_<script>alert(1)</script>")])
    report = d.deliver_due(T0)
    assert report.sent == 3
    [chat] = [r for r in hook.received if r.path == "/hook"]
    body = chat.json()
    assert body["title"].startswith("[FIRING] high · tickets / drift")
    assert "<script>" not in body["message"]  # markdown body: escaped
    assert "0.81" in body["message"] and "0.85" in body["message"] and "ml-team" in body["message"]
    user, password = base64.b64decode(chat.headers["Authorization"].split()[1]).decode().split(":", 1)
    assert (user, password) == ("steward", TOKEN)  # ${NAME} was filled from the environment when sending


def test_apprise_failure_is_retried(hook, store, tmp_path: Path) -> None:
    hook.fail_first = 1
    cfg = notify_config([{"name": "chat", "type": "apprise", "url": f"json://127.0.0.1:{hook.port}/hook"}],
                        {"receiver": "chat", "group_wait": 0}, retry={"backoff": "10s", "jitter": 0.0})
    d = Dispatcher(store, cfg, seed=0)
    d.submit([make_notification()])
    first = d.deliver_due(T0)
    assert (first.failed, first.retry_scheduled) == (1, 1)
    assert first.attempts[0]["error"]  # apprise's reason is kept
    assert d.deliver_due(T0.replace(second=10)).sent == 1
    assert len(hook.received) == 1


def test_no_secret_in_logs_errors_or_files(hook, store, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hook.fail_first = 2  # failures produce error texts and warnings: the secrets must not be in them
    log_file = tmp_path / "audit.jsonl"
    d = Dispatcher(store, apprise_config(hook.port, log_file), seed=0)
    with caplog.at_level(logging.DEBUG):
        d.submit([make_notification()])
        d.deliver_due(T0)
        d.deliver_due(T0.replace(minute=5))
    assert len(hook.received) == 2 and "failed" in caplog.text  # both HTTP receivers got through in the end
    signed = [r for r in hook.received if r.path == "/signed"][0]
    assert signed.headers["Authorization"] == f"Bearer {TOKEN}"
    stored = " ".join(str(v) for row in store.query("SELECT * FROM notification_attempts") for v in row)
    stored += " ".join(str(v) for row in store.query("SELECT * FROM notification_messages") for v in row)
    for secret in (TOKEN, SECRET):
        assert secret not in caplog.text
        assert secret not in log_file.read_text()
        assert secret not in stored


def test_an_unknown_apprise_scheme_is_given_up_at_once(store) -> None:
    cfg = notify_config([{"name": "chat", "type": "apprise", "url": "nosuchscheme://x/y"}], {"receiver": "chat", "group_wait": 0})
    d = Dispatcher(store, cfg, seed=0)
    d.submit([make_notification()])
    report = d.deliver_due(T0)
    assert (report.failed, report.gave_up) == (1, 1)
