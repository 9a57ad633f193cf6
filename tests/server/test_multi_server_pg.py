"""Several real ``steward serve`` processes on one PostgreSQL database.

Three servers share a fresh database. Checked from the database afterwards, with plain SQL:

* concurrent batch ingest, every batch sent twice through different servers at once (a client
  retrying against another server): each row is stored once, the answers' ``inserted`` add up to
  the number of distinct rows and ``duplicates`` to the number of resends; a batch that reuses
  an id with different content is refused whole;
* concurrent review claims from reviewers on all three servers: no item is claimed twice, every
  item is claimed, and the store's claims agree with what the servers answered;
* the scheduled monitoring cycle with all three servers running it every second: each window
  is computed by one pass of one server (the passes' own logs add up to one computation per
  window, and each window's rows carry one computation time).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import pytest
import yaml

from modelsteward.monitor import Monitor
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore
from modelsteward.store.open import open_store

from .conftest import LiveServer, auth, model_dict, prediction

SERVERS = 3
API = "/api/v1/models/tickets"


def _config(tmp_path: Path, pg_url: str) -> Path:
    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump({"store": pg_url, "models": [model_dict() | {"window": "day"}]}), encoding="utf-8")
    return path


def _tokens(pg_url: str, names: list[str], scopes: list[str]) -> dict[str, str]:
    store = cast(DuckDBStore, open_store(pg_url))
    try:
        return {n: create_token(store, name=n, scopes=scopes)[1] for n in names}
    finally:
        store.close()


def _sql(pg_url: str, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(pg_url) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture
def three_servers(tmp_path: Path, pg_url: str, start_server: Callable[..., LiveServer]) -> Callable[..., list[LiveServer]]:
    def start(*extra: str) -> list[LiveServer]:
        config = _config(tmp_path, pg_url)
        Monitor(config).close()  # migrations and the model's tables, before the servers race to them
        return [start_server(config, *extra) for _ in range(SERVERS)]

    return start


def test_concurrent_ingest_with_overlapping_retries_stores_each_row_once(pg_url: str,
                                                                         three_servers: Callable[..., list[LiveServer]]) -> None:
    servers = three_servers("--check-every", "off")
    token = _tokens(pg_url, ["ingest-bot"], ["ingest"])["ingest-bot"]
    batches = [[prediction(i) | {"prediction_id": f"p-{b}-{i}"} for i in range(400)] for b in range(12)]
    feedback = [[{"prediction_id": f"p-{b}-{i}", "kind": "explicit", "label": "billing", "feedback_id": f"f-{b}-{i}"}
                 for i in range(0, 400, 2)] for b in range(12)]
    # every batch goes to two different servers at the same moment: the original and a retry
    sends = [(servers[b % SERVERS], servers[(b + 1) % SERVERS], b) for b in range(len(batches))]

    def post(server: LiveServer, path: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        r = httpx.post(server.url + API + path, json={"records": records}, headers=auth(token), timeout=120)
        assert r.status_code == 201, r.text
        return cast(dict[str, Any], r.json())

    with ThreadPoolExecutor(max_workers=2 * SERVERS) as pool:
        answers = list(pool.map(lambda job: post(job[0], "/predictions:batch", batches[job[1]]),
                                [(a, b) for a, c, b in sends] + [(c, b) for a, c, b in sends]))
        fb_answers = list(pool.map(lambda job: post(job[0], "/feedback:batch", feedback[job[1]]),
                                   [(a, b) for a, c, b in sends] + [(c, b) for a, c, b in sends]))

    rows = sum(len(b) for b in batches)
    assert sum(a["inserted"] for a in answers) == rows
    assert sum(a["duplicates"] for a in answers) == rows
    assert _sql(pg_url, 'SELECT count(*), count(DISTINCT prediction_id) FROM "predictions__tickets"')[0] == (rows, rows)
    fb_rows = sum(len(b) for b in feedback)
    assert sum(a["inserted"] for a in fb_answers) == fb_rows
    assert sum(a["duplicates"] for a in fb_answers) == fb_rows
    assert _sql(pg_url, "SELECT count(*), count(DISTINCT feedback_id) FROM feedback")[0] == (fb_rows, fb_rows)

    # an id already stored, with different content, refuses the whole batch on any server
    clash = [prediction(1) | {"prediction_id": "p-new-1"}, prediction(2) | {"prediction_id": "p-0-5", "confidence": 0.11}]
    r = httpx.post(servers[2].url + API + "/predictions:batch", json={"records": clash}, headers=auth(token), timeout=60)
    assert r.status_code == 409, r.text
    assert "p-0-5" in r.text
    assert _sql(pg_url, """SELECT count(*) FROM "predictions__tickets" WHERE prediction_id = 'p-new-1'""")[0][0] == 0
    stored = _sql(pg_url, """SELECT confidence FROM "predictions__tickets" WHERE prediction_id = 'p-0-5'""")
    assert stored[0][0] == batches[0][5]["confidence"]


def test_concurrent_review_claims_never_give_an_item_twice(pg_url: str, tmp_path: Path,
                                                           three_servers: Callable[..., list[LiveServer]]) -> None:
    items = 45
    servers = three_servers("--check-every", "off")
    with Monitor(_config(tmp_path, pg_url)) as mon:
        for i in range(items):
            mon.log_prediction(prediction_id=f"r-{i}", prediction="billing", confidence=0.5, features={"category": "web", "length": 3.0})
            assert mon.route(f"r-{i}").to_human
    reviewers = [f"rev-{k}" for k in range(6)]
    tokens = _tokens(pg_url, reviewers, ["review", "read"])

    def work(k: int) -> list[str]:
        """A reviewer on server k % 3 claims until the queue is empty; decides every other item it gets."""
        server, name, got = servers[k % SERVERS], reviewers[k], []
        while True:
            r = httpx.post(server.url + API + "/review/claim", json={}, headers=auth(tokens[name]), timeout=60)
            assert r.status_code == 200, r.text
            item = r.json()["item"]
            if item is None:
                return got
            assert item["holder"] == name
            got.append(item["item_id"])
            if len(got) % 2 == 0:
                d = httpx.post(server.url + API + f"/review/items/{item['item_id']}/decide", json={"decision": "accept"},
                               headers=auth(tokens[name]), timeout=60)
                assert d.status_code == 200, d.text

    with ThreadPoolExecutor(max_workers=len(reviewers)) as pool:
        claimed = dict(zip(reviewers, pool.map(work, range(len(reviewers))), strict=True))

    every = [i for got in claimed.values() for i in got]
    assert len(every) == items and len(set(every)) == items  # each item once, none left behind
    stored = _sql(pg_url, "SELECT item_id, reviewer FROM review_claims")
    assert Counter(i for i, _ in stored) == Counter(every)
    assert {(i, r) for i, r in stored} == {(i, r) for r, got in claimed.items() for i in got}
    assert _sql(pg_url, "SELECT count(*) FROM review_items WHERE state = 'pending'")[0][0] == 0
    decided = sum(len(got) // 2 for got in claimed.values())
    assert _sql(pg_url, "SELECT count(*) FROM review_decisions")[0][0] == decided


def _passes(server: LiveServer) -> list[dict[str, Any]]:
    out = []
    for line in server.log().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if rec.get("event") == "monitoring_cycle":
            out.append(rec)
    return out


def test_the_scheduled_cycle_computes_each_window_once_across_servers(pg_url: str, tmp_path: Path,
                                                                      three_servers: Callable[..., list[LiveServer]]) -> None:
    days = 6
    start = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days)
    servers = three_servers("--check-every", "1s", "--log-format", "json")
    # The servers run their passes while the data lands: the feedback first (it may come before its
    # prediction, and alone makes no window due), then all predictions in one transaction, so
    # every server's next pass finds the same six windows due at about the same moment.
    with Monitor(_config(tmp_path, pg_url)) as mon:  # daily windows
        ids = [f"d-{d}-{i}" for d in range(days) for i in range(30)]
        mon.log_feedbacks([{"prediction_id": pid, "kind": "explicit", "label": "billing"} for pid in ids])
        mon.log_predictions([prediction(k) | {"prediction_id": pid, "timestamp": start + timedelta(days=k // 30, minutes=k % 30)}
                             for k, pid in enumerate(ids)])
    landed = sum(len(_passes(s)) for s in servers)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and sum(len(_passes(s)) for s in servers) < landed + 2 * SERVERS:
        time.sleep(0.5)  # two more rounds each after the data landed
    for s in servers:
        s.stop()
    passes = [p for s in servers for p in _passes(s)]
    assert len(passes) >= landed + 2 * SERVERS and all(p["status"] == "ok" for p in passes)

    windows = [r[0] for r in _sql(pg_url, "SELECT DISTINCT window_start FROM window_metrics ORDER BY 1")]
    assert windows == [start + timedelta(days=d) for d in range(days)]
    # one computation per window: the passes' own counts, and one computation time per window's rows
    assert sum(p["windows"] for p in passes) == days
    per_window = "SELECT max(n) FROM (SELECT count(DISTINCT computed_at) AS n FROM window_metrics GROUP BY window_start) t"
    assert _sql(pg_url, per_window)[0][0] == 1
    assert _sql(pg_url, "SELECT count(*), count(DISTINCT (rule, window_start)) FROM rule_evaluations")[0] == (days, days)
