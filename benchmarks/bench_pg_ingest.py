"""Ingest rate into PostgreSQL: the store's write, the library in batches of 10k, and HTTP batches through 1 and 2 servers.

Needs a PostgreSQL server where the user may create databases (``./dev test`` starts one and
prints nothing; ``--url`` or ``$STEWARD_TEST_PG_URL`` names it). A fresh database is created for
each measurement and dropped after. Predictions carry 20 numeric features. Baselines, timed in
the same run: the store's previous batch path (``PostgresStore.staged_ingest``: CSV into a
temporary table, then ``INSERT ... ON CONFLICT DO NOTHING RETURNING``) against the direct binary
``COPY``; the same library batches into a DuckDB file; and one server on PostgreSQL for the
two-server figure. The store's write is also timed alone (validated batches, as the server hands
them over), for new rows and for the same batches sent again (all duplicates), with the CPU
seconds of the client and of the PostgreSQL backend per row (independent of other load on the
machine). After each run the rows are counted with SQL (every acknowledged row is there once).
It never asserts on timings.

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
from modelsteward.store.postgres_store import PostgresStore

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


def library_rate(store: str, batches: list[list[dict[str, Any]]], *, staged: bool = False) -> tuple[float, int]:
    cfg = {"models": [MODEL]}
    from modelsteward.config import StewardConfig

    with Monitor(StewardConfig.model_validate(cfg), store=store) as mon:
        if isinstance(mon.store, PostgresStore):
            mon.store.staged_ingest = staged
        t = time.perf_counter()
        for b in batches:
            mon.log_predictions(b)
        elapsed = time.perf_counter() - t
        n = mon.count_predictions()
    return sum(len(b) for b in batches) / elapsed, n


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def store_write(url: str, batches: list[list[dict[str, Any]]], *, staged: bool) -> dict[str, float]:
    """The store's write alone, of batches validated beforehand: new rows, then the same batches again (duplicates).

    One pooled connection, so the backend doing the work is known and its CPU time is read from /proc
    (the server must run on this machine for that figure; 0 otherwise).
    """
    from modelsteward.config import StewardConfig
    from modelsteward.records import normalise_predictions

    with Monitor(StewardConfig.model_validate({"models": [MODEL]}), store=url) as mon:
        store = cast(PostgresStore, mon.store)
        store.staged_ingest = staged
        cfg = mon.model()
        tables = [mon._with_novelty(cfg, normalise_predictions(b, cfg)) for b in batches]
        rows = sum(t.num_rows for t in tables)
        store._pool.resize(1, 1)
        store._pool.check()
        with store._pool.connection() as raw:
            backend = raw.info.backend_pid
        out: dict[str, float] = {}
        for label, expect_new in (("new", True), ("duplicates", False)):
            try:
                server0 = _cpu_seconds(backend)
            except OSError:
                server0 = float("nan")
            client0, t = time.process_time(), time.perf_counter()
            for table in tables:
                inserted, _ = store.insert_predictions(cfg, table)
                assert inserted == (table.num_rows if expect_new else 0)
            elapsed, client = time.perf_counter() - t, time.process_time() - client0
            try:
                server = _cpu_seconds(backend) - server0
            except OSError:
                server = float("nan")
            out[f"{label}_rows_per_s"] = rows / elapsed
            out[f"{label}_client_cpu_us_per_row"] = 1e6 * client / rows
            out[f"{label}_server_cpu_us_per_row"] = 1e6 * server / rows
        assert mon.count_predictions() == rows
    return out


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
        for staged in (True, False):  # the previous path first: the baseline of this run
            key = "staged" if staged else "direct"
            with fresh_database(args.url) as url:
                out[f"store_write_{key}"] = store_write(url, batches, staged=staged)
        out["duckdb_library_rows_per_s"], _ = library_rate(str(Path(tmp) / "bench.duckdb"), batches)
        for staged in (True, False):
            with fresh_database(args.url) as url:
                key = "postgres_library_staged_rows_per_s" if staged else "postgres_library_rows_per_s"
                out[key], n = library_rate(url, batches, staged=staged)
                assert n == args.rows
        for servers in (1, 2):
            with fresh_database(args.url) as url:
                out[f"postgres_{servers}_server_rows_per_s"], _ = server_rate(url, http_batches, servers, 2, Path(tmp))
    out["http_rows"] = sum(len(b) for b in http_batches)
    out["load_average"] = os.getloadavg()
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.rows:,} predictions x {FEATURES} numeric features, batches of {args.batch:,} (load average {out['load_average'][0]:.1f})")
    print("store write of validated batches -> PostgreSQL       rows/s   CPU us/row client + server")
    for key, label in (("staged", "staged CSV + INSERT (baseline)"), ("direct", "direct binary COPY")):
        w = out[f"store_write_{key}"]
        for kind in ("new", "duplicates"):
            print(f"  {label:31} {kind:10} {w[f'{kind}_rows_per_s']:>12,.0f}   "
                  f"{w[f'{kind}_client_cpu_us_per_row']:.1f} + {w[f'{kind}_server_cpu_us_per_row']:.1f}")
    ratio = out["store_write_direct"]["new_rows_per_s"] / out["store_write_staged"]["new_rows_per_s"]
    print(f"  direct / staged (new rows): {ratio:.2f}x")
    print(f"  library -> DuckDB file (baseline) {out['duckdb_library_rows_per_s']:>12,.0f} rows/s")
    print(f"  library -> PostgreSQL, staged     {out['postgres_library_staged_rows_per_s']:>12,.0f} rows/s")
    print(f"  library -> PostgreSQL             {out['postgres_library_rows_per_s']:>12,.0f} rows/s")
    print(f"HTTP batches ({out['http_rows']:,} rows, 2 clients per server) -> PostgreSQL")
    print(f"  1 server (baseline)               {out['postgres_1_server_rows_per_s']:>12,.0f} rows/s")
    print(f"  2 servers, one database           {out['postgres_2_server_rows_per_s']:>12,.0f} rows/s "
          f"({out['postgres_2_server_rows_per_s'] / out['postgres_1_server_rows_per_s']:.2f}x)")


if __name__ == "__main__":
    main()
