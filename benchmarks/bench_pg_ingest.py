"""Ingest rate into PostgreSQL: the library in batches of 10k, and HTTP batches through 1 and 2 servers.

Needs a PostgreSQL server where the user may create databases (``./dev test`` starts one and
prints nothing; ``--url`` or ``$STEWARD_TEST_PG_URL`` names it). A fresh database is created for
each measurement and dropped after. Predictions carry 20 numeric features. Baselines, timed in
the same run: the same library batches into a DuckDB file, and one server on PostgreSQL for the
two-server figure. After each run the rows are counted with SQL (every acknowledged row is
there once). It never asserts on timings.

    STEWARD_TEST_PG_URL=postgresql:///postgres?host=/var/run/postgresql .venv/bin/python benchmarks/bench_pg_ingest.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import numpy as np
import psycopg
import yaml

from modelsteward.monitor import Monitor
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore
from modelsteward.store.open import open_store

LABELS = ["billing", "technical", "account"]
FEATURES = 20
MODEL = {"name": "tickets", "task": "multiclass", "labels": LABELS,
         "features": [{"name": f"x{k}", "type": "numeric"} for k in range(FEATURES)]}
SERVE = "import modelsteward.cli as c; c.main()"


def records(start: int, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    conf = rng.uniform(0.3, 1.0, n)
    lab = rng.integers(0, 3, n)
    x = rng.normal(0, 1, (n, FEATURES)).round(4)
    return [{"prediction_id": f"p-{start + i}", "prediction": LABELS[lab[i]], "confidence": round(float(conf[i]), 4),
             "features": {f"x{k}": float(x[i, k]) for k in range(FEATURES)}, "latency_ms": 25.0,
             "timestamp": f"2026-03-{2 + (start + i) % 7:02d}T10:00:00"} for i in range(n)]


@contextmanager
def fresh_database(admin: str) -> Iterator[str]:
    name = "steward_bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    try:
        yield f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def library_rate(store: str, batches: list[list[dict[str, Any]]]) -> tuple[float, int]:
    cfg = {"models": [MODEL]}
    from modelsteward.config import StewardConfig

    with Monitor(StewardConfig.model_validate(cfg), store=store) as mon:
        t = time.perf_counter()
        for b in batches:
            mon.log_predictions(b)
        elapsed = time.perf_counter() - t
        n = mon.count_predictions()
    return sum(len(b) for b in batches) / elapsed, n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_rate(url: str, batches: list[list[dict[str, Any]]], servers: int, clients_per_server: int, folder: Path) -> tuple[float, int]:
    config = folder / f"steward-{servers}.yaml"
    config.write_text(yaml.safe_dump({"store": url, "models": [MODEL]}), encoding="utf-8")
    store = cast(DuckDBStore, open_store(url))
    token = create_token(store, name="bench", scopes=["ingest"])[1]
    Monitor(config).close()
    store.close()
    procs, urls = [], []
    for _ in range(servers):
        port = free_port()
        log = (folder / f"server-{port}.log").open("w")
        procs.append(subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(config), "--port", str(port),
                                       "--check-every", "off", "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for u in urls:
            for _ in range(600):
                try:
                    if httpx.get(u + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
        bodies = [json.dumps({"records": b}).encode() for b in batches]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def send(i: int) -> int:
            r = httpx.post(urls[i % servers] + "/api/v1/models/tickets/predictions:batch", content=bodies[i], headers=headers, timeout=600)
            r.raise_for_status()
            return int(r.json()["inserted"])

        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=servers * clients_per_server) as pool:
            inserted = sum(pool.map(send, range(len(bodies))))
        elapsed = time.perf_counter() - t
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait(timeout=60)
    with psycopg.connect(url) as con:
        stored = con.execute('SELECT count(DISTINCT prediction_id) FROM "predictions__tickets"').fetchone()
    assert stored is not None and stored[0] == inserted == sum(len(b) for b in batches)
    return inserted / elapsed, inserted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("STEWARD_TEST_PG_URL"), help="admin URL of a PostgreSQL server")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--http-rows", type=int, default=100_000, help="rows sent through the servers")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not args.url:
        sys.exit("set --url or STEWARD_TEST_PG_URL to a PostgreSQL server where you may create databases")
    rng = np.random.default_rng(0)
    batches = [records(s, min(args.batch, args.rows - s), rng) for s in range(0, args.rows, args.batch)]
    http_batches = batches[: max(1, args.http_rows // args.batch)]
    out: dict[str, Any] = {"rows": args.rows, "batch": args.batch, "features": FEATURES}
    with tempfile.TemporaryDirectory() as tmp:
        out["duckdb_library_rows_per_s"], _ = library_rate(str(Path(tmp) / "bench.duckdb"), batches)
        with fresh_database(args.url) as url:
            out["postgres_library_rows_per_s"], n = library_rate(url, batches)
            assert n == args.rows
        for servers in (1, 2):
            with fresh_database(args.url) as url:
                out[f"postgres_{servers}_server_rows_per_s"], _ = server_rate(url, http_batches, servers, 2, Path(tmp))
    out["http_rows"] = sum(len(b) for b in http_batches)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.rows:,} predictions x {FEATURES} numeric features, batches of {args.batch:,}")
    print(f"  library -> DuckDB file (baseline) {out['duckdb_library_rows_per_s']:>12,.0f} rows/s")
    print(f"  library -> PostgreSQL             {out['postgres_library_rows_per_s']:>12,.0f} rows/s")
    print(f"HTTP batches ({out['http_rows']:,} rows, 2 clients per server) -> PostgreSQL")
    print(f"  1 server (baseline)               {out['postgres_1_server_rows_per_s']:>12,.0f} rows/s")
    print(f"  2 servers, one database           {out['postgres_2_server_rows_per_s']:>12,.0f} rows/s "
          f"({out['postgres_2_server_rows_per_s'] / out['postgres_1_server_rows_per_s']:.2f}x)")


if __name__ == "__main__":
    main()
