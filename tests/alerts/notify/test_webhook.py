"""Signed webhook delivery to a real loopback HTTP server: HMAC, retries with backoff, giving up, logging."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from modelsteward.alerts.notify import Dispatcher
from modelsteward.store import DuckDBStore

from .conftest import SECRET, make_notification, notify_config

T0 = datetime(2026, 1, 12, 9, 0)


def webhook_config(url: str, **retry: object):
    return notify_config(
        [{"name": "ops-hook", "type": "webhook", "url": url, "secret_env": "STEWARD_TEST_HOOK_SECRET"}],
        {"receiver": "ops-hook", "group_wait": 0, "group_interval": "5m", "repeat_interval": "4h"},
        retry={"max_attempts": 4, "backoff": "30s", "max_backoff": "1h", "jitter": 0.5, **retry},
        dashboard_url="https://steward.example/models/{model}",
    )


@pytest.fixture
def store(tmp_path: Path):
    with DuckDBStore(tmp_path / "s.duckdb") as s:
        yield s


@pytest.fixture(autouse=True)
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_TEST_HOOK_SECRET", SECRET)


def test_signed_body_verifies_with_an_independent_hmac(hook, store) -> None:
    hook.secret = SECRET
    d = Dispatcher(store, webhook_config(hook.url), seed=1)
    d.submit([make_notification()])
    report = d.deliver_due(T0)
    assert report.sent == 1 and len(hook.received) == 1
    got = hook.received[0]
    assert got.signature_ok is True
    body = got.json()
    assert body["status"] == "firing"
    [n] = body["notifications"]
    assert (n["incident_id"], n["value"], n["threshold"], n["owner"]) == ("inc-1", 0.81, 0.85, "ml-team")
    assert body["dashboard_url"] == "https://steward.example/models/tickets"
    assert "https://runbooks.example/accuracy_drop" in body["text"]


def test_wrong_secret_fails_verification(hook, store) -> None:
    hook.secret = "another-secret"  # the receiver's check must be able to fail
    d = Dispatcher(store, webhook_config(hook.url), seed=1)
    d.submit([make_notification()])
    d.deliver_due(T0)
    assert hook.received[0].signature_ok is False


def test_failures_are_retried_with_exponential_backoff_and_seeded_jitter(hook, store) -> None:
    hook.secret, hook.fail_first = SECRET, 2
    d = Dispatcher(store, webhook_config(hook.url), seed=7)
    d.submit([make_notification()])
    first = d.deliver_due(T0)
    assert (first.sent, first.failed, first.retry_scheduled) == (0, 1, 1)
    wait1 = first.attempts[0]["next_attempt_at"] - T0
    assert timedelta(seconds=15) <= wait1 <= timedelta(seconds=30)  # 30 s × [0.5, 1]
    # not yet due: nothing is tried
    assert d.deliver_due(T0 + wait1 - timedelta(milliseconds=1)).attempts == []
    t1 = T0 + wait1
    second = d.deliver_due(t1)
    assert (second.failed, second.retry_scheduled) == (1, 1)
    wait2 = second.attempts[0]["next_attempt_at"] - t1
    assert timedelta(seconds=30) <= wait2 <= timedelta(seconds=60)  # 60 s × [0.5, 1]
    third = d.deliver_due(t1 + wait2)
    assert third.sent == 1 and hook.requests == 3 and len(hook.received) == 1
    rows = store.query("SELECT attempt, outcome, status_code FROM notification_attempts ORDER BY attempt")
    assert rows == [(1, "failed", 500), (2, "failed", 500), (3, "sent", 200)]
    status = store.query("SELECT status, attempts, last_error FROM notification_messages")
    assert status == [("sent", 3, None)]


def test_jitter_is_reproducible_with_the_same_seed(hook, tmp_path: Path) -> None:
    hook.fail_first = 100
    waits = []
    for run in range(3):
        with DuckDBStore(tmp_path / f"r{run}.duckdb") as s:
            d = Dispatcher(s, webhook_config(hook.url), seed=42 if run < 2 else 43)
            d.submit([make_notification()])
            waits.append(d.deliver_due(T0).attempts[0]["next_attempt_at"])
    assert waits[0] == waits[1]
    assert waits[0] != waits[2]


def test_gives_up_after_max_attempts(hook, store) -> None:
    hook.fail_first = 100
    d = Dispatcher(store, webhook_config(hook.url, max_attempts=3, jitter=0.0), seed=0)
    d.submit([make_notification()])
    now = T0
    outcomes = []
    for _ in range(5):
        report = d.deliver_due(now)
        outcomes += [(a["attempt"], a["next_attempt_at"] - now if a["next_attempt_at"] else None) for a in report.attempts]
        now += timedelta(minutes=10)
    assert outcomes == [(1, timedelta(seconds=30)), (2, timedelta(seconds=60)), (3, None)]
    assert store.query("SELECT status, attempts FROM notification_messages") == [("failed", 3)]
    assert hook.requests == 3


def test_a_refused_request_is_not_retried(hook, store) -> None:
    hook.fail_first, hook.fail_status = 100, 403
    d = Dispatcher(store, webhook_config(hook.url), seed=0)
    d.submit([make_notification()])
    report = d.deliver_due(T0)
    assert (report.failed, report.gave_up, report.retry_scheduled) == (1, 1, 0)
    assert "403" in store.query("SELECT last_error FROM notification_messages")[0][0]


def test_receiver_down_never_raises_and_is_logged(store, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as sock:  # a port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    d = Dispatcher(store, webhook_config(f"http://127.0.0.1:{port}/hook"), seed=0)
    d.submit([make_notification()])
    with caplog.at_level(logging.WARNING):
        report = d.deliver_due(T0)
    assert (report.failed, report.retry_scheduled) == (1, 1)
    assert "ops-hook" in caplog.text and "failed" in caplog.text


def test_submit_never_raises_even_when_the_store_is_gone(tmp_path: Path, hook, caplog: pytest.LogCaptureFixture) -> None:
    s = DuckDBStore(tmp_path / "gone.duckdb")
    d = Dispatcher(s, webhook_config(hook.url), seed=0)
    s.close()
    with caplog.at_level(logging.ERROR):
        d.submit([make_notification()])  # must not raise
    assert "could not enqueue" in caplog.text


def test_missing_secret_is_a_recorded_failure_naming_the_variable(hook, store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STEWARD_TEST_HOOK_SECRET")
    d = Dispatcher(store, webhook_config(hook.url), seed=0)
    d.submit([make_notification()])
    report = d.deliver_due(T0)
    assert report.failed == 1 and hook.requests == 0
    assert "STEWARD_TEST_HOOK_SECRET" in report.attempts[0]["error"]


def test_outbox_survives_a_restart(hook, tmp_path: Path) -> None:
    path = tmp_path / "durable.duckdb"
    with DuckDBStore(path) as s:
        Dispatcher(s, webhook_config(hook.url), seed=0).submit([make_notification(), make_notification()])  # same one twice
    assert hook.requests == 0
    with DuckDBStore(path) as s:
        report = Dispatcher(s, webhook_config(hook.url), seed=0).deliver_due(T0)
        assert report.sent == 1 and len(hook.received[0].json()["notifications"]) == 1
        assert s.query("SELECT count(*) FROM notification_events") == [(1,)]


def test_without_a_notifications_section_nothing_is_queued(store) -> None:
    from modelsteward.config import StewardConfig

    cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"]}]})
    d = Dispatcher(store, cfg, seed=0)
    d.submit([make_notification()])
    assert store.query("SELECT count(*) FROM notification_events") == [(0,)]
    assert d.deliver_due(T0).attempts == []
