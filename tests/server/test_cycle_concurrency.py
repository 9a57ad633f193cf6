"""The scheduled monitoring pass reads apart from ingest: a paused pass does not hold ingest back.

A real pass (``scheduler.run_pass``, what ``steward serve --check-every`` runs) over a real
DuckDB store file is paused after it has read a window and before it writes it; meanwhile an
ingest request goes through the served application, is acknowledged and is committed. Then the
pass's stored metrics are the rows of its own reads, counted again with SQL, and the next pass
recomputes the window with the new row. No wall-clock assertion: the join timeouts only keep a
broken build from hanging (under one lock held by the whole pass, the ingest can never finish
while the pass is paused).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelsteward.monitor import Monitor
from modelsteward.server.app import create_app
from modelsteward.server.scheduler import run_pass
from modelsteward.store.duckdb_store import DuckDBStore

from .conftest import auth, prediction

API = "/api/v1/models/tickets"
WEEK = datetime(2026, 3, 2)  # the Monday of the conftest's predictions
GUARD = 120.0  # seconds before a join gives up: a deadlock guard, not a measurement


@pytest.fixture
def client(config_file: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(config_file)) as c:
        yield c


def _volume(store: DuckDBStore) -> tuple[float, datetime]:
    value, computed_at = store.query(
        "SELECT value, computed_at FROM window_metrics WHERE model = 'tickets' AND window_start = ? AND metric = 'volume'", [WEEK])[0]
    return float(value), computed_at


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001  re-raised by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_ingest_completes_while_a_pass_is_paused_and_the_pass_counts_its_snapshot(client, tokens, monkeypatch):
    head = auth(tokens["ingest"])
    first = [prediction(i) for i in range(30)]
    assert client.post(API + "/predictions:batch", json={"records": first}, headers=head).json()["inserted"] == 30
    monitor: Monitor = client.app.state.monitor  # type: ignore[attr-defined]
    lock = client.app.state.lock  # type: ignore[attr-defined]
    store = monitor.store

    paused, release = threading.Event(), threading.Event()
    original = Monitor._save_window

    def pausing(self: Monitor, cfg: Any, start: datetime, *args: Any, **kwargs: Any) -> None:
        if start == WEEK and not paused.is_set():  # the window is read, not yet written
            paused.set()
            release.wait()
        original(self, cfg, start, *args, **kwargs)

    state_phase: list[bool] = []
    after_windows = Monitor._after_windows

    def recording(self: Monitor, *args: Any, **kwargs: Any) -> None:
        state_phase.append(lock.locked())  # alert states and triggers: no request may come in between
        after_windows(self, *args, **kwargs)

    monkeypatch.setattr(Monitor, "_save_window", pausing)
    monkeypatch.setattr(Monitor, "_after_windows", recording)
    pass_thread, pass_out = _in_thread(run_pass, monitor, lock)
    assert paused.wait(GUARD), pass_out
    try:
        late = prediction(100, timestamp="2026-03-04T12:00:00")
        ingest_thread, ingest_out = _in_thread(lambda: client.post(API + "/predictions", json=late, headers=head))
        ingest_thread.join(GUARD)
        assert not ingest_thread.is_alive(), "the ingest waited for the paused monitoring pass"
        assert ingest_out["value"].status_code == 201, ingest_out["value"].text
        # durable: committed, so a second connection to the database reads it
        cursor = store._con.cursor()
        assert cursor.execute("SELECT count(*) FROM predictions__tickets WHERE prediction_id = 'p-100'").fetchall() == [(1,)]
        cursor.close()
        assert pass_thread.is_alive()  # still paused in its window
    finally:
        release.set()
        pass_thread.join(GUARD)
    assert "error" not in pass_out, pass_out.get("error")
    [report] = pass_out["value"]
    assert WEEK in report.windows

    # The pass counted the rows committed before it read them: the 30 first, not the late one.
    volume, computed_at = _volume(store)
    snapshot = store.query("SELECT count(*) FROM predictions__tickets WHERE ts >= ? AND ts < ? + INTERVAL 7 DAY AND ingested_at < ?",
                           [WEEK, WEEK, computed_at])[0][0]
    everything = store.query("SELECT count(*) FROM predictions__tickets WHERE ts >= ? AND ts < ? + INTERVAL 7 DAY", [WEEK, WEEK])[0][0]
    assert (volume, snapshot, everything) == (30.0, 30, 31)

    # The late row arrived after the window's stamp: the window is due again, and the next pass counts it.
    assert WEEK in monitor.due_windows("tickets")
    [again] = run_pass(monitor, lock)
    assert WEEK in again.windows and _volume(store)[0] == float(everything)
    assert WEEK not in monitor.due_windows("tickets")
    assert state_phase == [True, True]
    assert not lock.locked()


def test_reads_apart_reads_without_the_store_lock_and_writes_under_the_write_lock(tmp_path):
    store, write_lock = DuckDBStore(tmp_path / "s.duckdb"), threading.Lock()
    store.query("CREATE TABLE t (x INTEGER)")
    seen: dict[str, Any] = {}

    ready, go_read, have_read, go_write = (threading.Event() for _ in range(4))

    def reader() -> None:
        with store.reads_apart(write_lock):
            ready.set()
            go_read.wait()
            seen["read"] = store.query("SELECT count(*) FROM t")
            have_read.set()
            go_write.wait()
            with store.transaction() as con:
                seen["locked_in_transaction"] = write_lock.locked()
                con.execute("INSERT INTO t VALUES (1)").fetchall()
                seen["own_write"] = store.query("SELECT count(*) FROM t")  # its own uncommitted row: the store's connection
            store.query("INSERT INTO t VALUES (2)")  # a write statement through query: under the locks too
            seen["after"] = store.query_dicts("SELECT count(*) AS n FROM t")

    thread, out = _in_thread(reader)
    assert ready.wait(GUARD), out
    with store._lock:  # another thread in the middle of a store call: a plain read does not wait for it
        go_read.set()
        assert have_read.wait(GUARD), out
        assert seen["read"] == [(0,)]
    with write_lock:  # an ingest write in progress: the pass's write waits for it
        go_write.set()
        thread.join(0.2)
        assert thread.is_alive() and "locked_in_transaction" not in seen
    thread.join(GUARD)
    assert "error" not in out, out.get("error")
    assert seen == {"read": [(0,)], "locked_in_transaction": True, "own_write": [(1,)], "after": [{"n": 2}]}
    assert store.query("SELECT count(*) FROM t") == [(2,)]
    store.close()
