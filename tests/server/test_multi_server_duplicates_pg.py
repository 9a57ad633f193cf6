"""The ``duplicate`` flag of a single-prediction answer is exact with several servers on one database.

Two real ``steward serve`` processes share a fresh PostgreSQL database. Every prediction id is
sent once to each server at about the same moment (clients retrying against the other server),
one prediction per request, so each server's group commit writes groups in which some ids are
new and some are being written by the other server at that very moment. Exactly one of the two
answers for an id may say it was new, and the database holds each id once, checked with SQL.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import psycopg
import yaml

from modelsteward.monitor import Monitor
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore
from modelsteward.store.open import open_store

from .conftest import LiveServer, auth, model_dict, prediction

API = "/api/v1/models/tickets/predictions"
IDS = 1500
CLIENTS = 48


def test_each_id_is_new_in_exactly_one_answer_across_two_servers(tmp_path: Path, pg_url: str,
                                                                 start_server: Callable[..., LiveServer]) -> None:
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump({"store": pg_url, "models": [model_dict()]}), encoding="utf-8")
    Monitor(config).close()  # migrations and tables before the servers start
    store = cast(DuckDBStore, open_store(pg_url))
    try:
        token = create_token(store, name="ingest-bot", scopes=["ingest"])[1]
    finally:
        store.close()
    servers = [start_server(config, "--check-every", "off") for _ in range(2)]

    # server 0 gets the ids in order, server 1 in a shuffled order that keeps each id near its turn on
    # server 0 (a seeded shuffle within blocks of 40): groups on both servers hold ids the other one is writing
    order = list(range(IDS))
    rng = random.Random(7)
    shuffled: list[int] = []
    for start in range(0, IDS, 40):
        block = order[start:start + 40]
        rng.shuffle(block)
        shuffled += block
    sends = [job for pair in zip([(0, i) for i in order], [(1, i) for i in shuffled], strict=True) for job in pair]

    clients = [httpx.Client(base_url=s.url, headers=auth(token), timeout=120) for s in servers]

    def post(job: tuple[int, int]) -> tuple[int, dict[str, Any]]:
        server, i = job
        r = clients[server].post(API, json=prediction(i))
        assert r.status_code == 201, r.text
        return i, cast(dict[str, Any], r.json())

    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            answers = list(pool.map(post, sends))
    finally:
        for c in clients:
            c.close()

    new_in: dict[int, int] = defaultdict(int)
    for i, answer in answers:
        assert answer["prediction_id"] == f"p-{i}"
        assert answer["inserted"] == (0 if answer["duplicate"] else 1)
        new_in[i] += not answer["duplicate"]
    wrong = {f"p-{i}": n for i, n in new_in.items() if n != 1}
    assert not wrong, f"ids not answered as new exactly once (id: answers saying new): {dict(list(wrong.items())[:10])}"
    assert len(new_in) == IDS
    with psycopg.connect(pg_url) as con:
        assert con.execute('SELECT count(*), count(DISTINCT prediction_id) FROM "predictions__tickets"').fetchone() == (IDS, IDS)
