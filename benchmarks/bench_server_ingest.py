"""Load benchmark of the HTTP ingest on loopback: single predictions and batches, against baselines timed in the same run.

Starts ``steward serve`` in a subprocess on a free loopback port with a fresh store and an
ingest token, then sends (bounded in count, and in time by ``--max-seconds`` a phase):

1. single predictions, ``--single`` requests at each of ``--clients`` concurrent keep-alive
   connections: requests per second (= predictions per second), p50/p99 latency seen by the
   client. The load generator is plain asyncio streams with pre-encoded bodies (``--client raw``,
   about 0.05 ms of CPU a request on the same two cores as the server), or httpx (1-3 ms a
   request, so it measures itself as much as the server);
2. batches of ``--batch-size`` predictions, ``--batches`` of them a media type, one at a time:
   JSON (``{"records": [...]}``), NDJSON and an Arrow IPC stream (bodies encoded before timing).

Baselines, timed in the same run on fresh stores: the library in process (``Monitor.log_prediction``
one at a time; ``Monitor.log_predictions`` per batch, from dicts and from an Arrow table) and a
plain durable DuckDB insert (one row a transaction; one transaction per batch, from Arrow). After
the server stops, the store is read with DuckDB SQL to check every acknowledged prediction is
there. The machine's load average is printed before and after: the two cores are shared, and
other work on them moves every figure. Targets (issue 6, 2-core machine): 2,000 single
predictions/s with p99 < 50 ms; 100,000 predictions/s in batches. It never asserts on timings.

    .venv/bin/python benchmarks/bench_server_ingest.py --quick
    .venv/bin/python benchmarks/bench_server_ingest.py --clients 16,32,64 --single 8000
    .venv/bin/python benchmarks/bench_server_ingest.py --json
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import yaml

from modelsteward.monitor import Monitor
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore

LABELS = ["billing", "technical", "account"]
MODEL = {"name": "tickets", "task": "multiclass", "labels": LABELS,
         "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}]}
SERVE = "import modelsteward.cli.server, modelsteward.cli as c; c.main()"
MEDIA = {"json": "application/json", "ndjson": "application/x-ndjson", "arrow": "application/vnd.apache.arrow.stream"}


def records(start: int, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    conf = rng.uniform(0.3, 1.0, n)
    lab = rng.integers(0, 3, n)
    length = rng.normal(100, 20, n)
    return [{"prediction_id": f"p-{start + i}", "prediction": LABELS[lab[i]], "confidence": round(float(conf[i]), 4),
             "features": {"category": ["web", "phone", "mail"][lab[i]], "length": round(float(length[i]), 2)},
             "latency_ms": 25.0, "timestamp": f"2026-03-{2 + (start + i) % 7:02d}T10:00:00"} for i in range(n)]


def flat_table(recs: list[dict[str, Any]]) -> pa.Table:
    """The records as a flat Arrow table: prediction fields and one column per feature."""
    flat = [{**{k: v for k, v in r.items() if k != "features"}, **r["features"]} for r in recs]
    return pa.Table.from_pylist(flat)


def encode(kind: str, recs: list[dict[str, Any]]) -> bytes:
    if kind == "json":
        return json.dumps({"records": recs}).encode()
    if kind == "ndjson":
        return "\n".join(json.dumps(r) for r in recs).encode()
    table = flat_table(recs)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(config), "--port", str(port), "--check-every", "0",
                             *extra], stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


async def send_singles(url: str, token: str, recs: list[dict[str, Any]], concurrency: int, max_seconds: float) -> list[float]:
    latencies: list[float] = []
    queue = list(reversed(recs))
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30) as client:
        async def worker() -> None:
            while queue and time.monotonic() < deadline:
                rec = queue.pop()
                t0 = time.perf_counter()
                r = await client.post("/api/v1/models/tickets/predictions", json=rec)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise SystemExit(f"ingest failed: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def send_singles_raw(url: str, token: str, recs: list[dict[str, Any]], concurrency: int, max_seconds: float) -> list[float]:
    """The same requests over plain keep-alive sockets with pre-encoded requests: a load generator that costs little CPU."""
    host, port = url.removeprefix("http://").split(":")
    head = (f"POST /api/v1/models/tickets/predictions HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: ")
    requests = [f"{head}{len(b)}\r\n\r\n".encode() + b for b in (json.dumps(r).encode() for r in recs)]
    latencies: list[float] = []
    queue = list(reversed(requests))
    deadline = time.monotonic() + max_seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue and time.monotonic() < deadline:
                request = queue.pop()
                t0 = time.perf_counter()
                writer.write(request)
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                answer = await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if b" 201 " not in status:
                    raise SystemExit(f"ingest failed: {status!r} {answer[:300]!r}")
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def durable_duckdb(folder: Path, singles: list[dict[str, Any]], batches: list[list[dict[str, Any]]]) -> dict[str, float]:
    """A plain DuckDB table of the same columns, written durably: one row a transaction, then one batch a transaction."""
    con = duckdb.connect(str(folder / "plain.duckdb"))
    con.execute("CREATE TABLE p (prediction_id VARCHAR PRIMARY KEY, prediction VARCHAR, confidence DOUBLE, latency_ms DOUBLE, "
                "ts TIMESTAMP, category VARCHAR, length DOUBLE)")
    rows = [(r["prediction_id"], r["prediction"], r["confidence"], r["latency_ms"], r["timestamp"], r["features"]["category"],
             r["features"]["length"]) for r in singles]
    t0 = time.perf_counter()
    for row in rows:
        con.execute("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    single = len(rows) / (time.perf_counter() - t0)
    tables = [flat_table(b).select(["prediction_id", "prediction", "confidence", "latency_ms", "timestamp", "category", "length"])
              for b in batches]
    t0 = time.perf_counter()
    for staged in tables:
        con.register("staged", staged)
        con.execute("INSERT INTO p SELECT prediction_id, prediction, confidence, latency_ms, timestamp::TIMESTAMP, category, length "
                    "FROM staged")
        con.unregister("staged")
    batch = sum(t.num_rows for t in tables) / (time.perf_counter() - t0)
    con.close()
    return {"duckdb_single_per_s": single, "duckdb_batch_predictions_per_s": batch}


def group_commit(config: Path, folder: Path, rng: np.random.Generator, writers: list[int], n: int) -> list[dict[str, float]]:
    """The group writer alone, in process, no HTTP: group size and latency at each number of concurrent writers."""
    import threading

    from modelsteward.server.group_commit import GroupWriter

    async def run(writer: GroupWriter, recs: list[dict[str, Any]], count: int) -> list[float]:
        queue, lat = list(reversed(recs)), []

        async def one() -> None:
            while queue:
                rec = queue.pop()
                t0 = time.perf_counter()
                await writer.write("tickets", rec)
                lat.append(time.perf_counter() - t0)

        await asyncio.gather(*(one() for _ in range(count)))
        return lat

    rows = []
    with Monitor(config, store=folder / "groups.duckdb") as mon:
        writer = GroupWriter(mon, threading.Lock())
        for i, count in enumerate(writers):
            recs = records(500_000_000 + i * n, n, rng)
            groups, requests, t0 = writer.groups, writer.requests, time.perf_counter()
            lat = asyncio.run(run(writer, recs, count))
            wall = time.perf_counter() - t0
            made = writer.groups - groups
            rows.append({"writers": count, "per_s": n / wall, "mean_group": (writer.requests - requests) / made,
                         "group_ms": wall / made * 1000, "p50_ms": float(np.percentile(lat, 50) * 1000),
                         "p99_ms": float(np.percentile(lat, 99) * 1000)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--single", type=int, default=6000, help="single-prediction requests at each client count")
    ap.add_argument("--clients", default="8,32,64", help="concurrent connections, comma-separated")
    ap.add_argument("--concurrency", type=int, default=None, help="one client count (same as --clients N)")
    ap.add_argument("--batches", type=int, default=6, help="batches a media type")
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--formats", default="json,ndjson,arrow", help="batch media types, comma-separated (json, ndjson, arrow)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="stop a phase after this long")
    ap.add_argument("--quick", action="store_true", help="2,000 singles at 32 and 64 clients, 3 batches a media type")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw",
                    help="load generator for single predictions: asyncio sockets, pre-encoded (cheap), or httpx (1-3 ms CPU a request)")
    ap.add_argument("--dev", action="store_true", help="serve with --dev (no token check)")
    ap.add_argument("--group-writers", default="1,16,64", help="concurrent writers for the in-process group commit phase ('' skips it)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.single, args.batches, args.clients = 2000, 3, "32,64"
    clients = [args.concurrency] if args.concurrency else [int(c) for c in args.clients.split(",")]
    kinds = [k for k in args.formats.split(",") if k]
    rng = np.random.default_rng(args.seed)
    singles = {c: records(i * 1_000_000, args.single, rng) for i, c in enumerate(clients)}
    batches = [records(100_000_000 + b * args.batch_size, args.batch_size, rng) for b in range(args.batches)]
    out: dict[str, Any] = {"single": args.single, "clients": clients, "batches": args.batches, "batch_size": args.batch_size,
                           "token_check": not args.dev, "client": args.client, "load_before": os.getloadavg()[0]}
    sent = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "steward.yaml"
        config.write_text(yaml.safe_dump({"store": str(folder / "served.duckdb"), "models": [MODEL]}))
        with DuckDBStore(folder / "served.duckdb") as store:
            token = create_token(store, name="bench", scopes=["ingest"])[1]
        proc, url = start_server(config, folder / "server.log", *(["--dev"] if args.dev else []))
        try:
            send = send_singles_raw if args.client == "raw" else send_singles
            asyncio.run(send(url, token, records(999_000_000, 200, rng), 4, 30))  # warm-up: the token is checked once
            sent += 200
            for c in clients:
                print(f"single predictions over HTTP, {c} clients...", file=sys.stderr)
                t0 = time.perf_counter()
                lat = asyncio.run(send(url, token, singles[c], c, args.max_seconds))
                wall = time.perf_counter() - t0
                sent += len(lat)
                out[f"http_single_{c}"] = {"requests": len(lat), "per_s": len(lat) / wall, "p50_ms": float(np.percentile(lat, 50) * 1000),
                                           "p99_ms": float(np.percentile(lat, 99) * 1000)}
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
                for kind in kinds:
                    print(f"batches over HTTP as {kind}...", file=sys.stderr)
                    bodies = [encode(kind, [{**r, "prediction_id": f"{kind}-{r['prediction_id']}"} for r in b]) for b in batches]
                    lat, deadline = [], time.monotonic() + args.max_seconds
                    t0 = time.perf_counter()
                    for body in bodies:
                        if time.monotonic() > deadline:
                            break
                        t1 = time.perf_counter()
                        r = client.post("/api/v1/models/tickets/predictions:batch", content=body, headers={"Content-Type": MEDIA[kind]})
                        lat.append(time.perf_counter() - t1)
                        if r.status_code != 201 or r.json()["inserted"] != args.batch_size:
                            raise SystemExit(f"batch failed: {r.status_code} {r.text[:500]}")
                    wall = time.perf_counter() - t0
                    sent += len(lat) * args.batch_size
                    out[f"http_batch_{kind}"] = {"batches": len(lat), "predictions_per_s": len(lat) * args.batch_size / wall,
                                                 "p50_ms": float(np.percentile(lat, 50) * 1000), "body_bytes": len(bodies[0])}
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        con = duckdb.connect(str(folder / "served.duckdb"), read_only=True)
        stored = con.execute("SELECT count(*) FROM predictions__tickets").fetchone()[0]  # type: ignore[index]
        con.close()
        out["stored_check"] = stored == sent
        print("baselines: the library in process, plain durable DuckDB...", file=sys.stderr)
        with Monitor(config, store=folder / "direct.duckdb") as mon:
            lib_singles = singles[clients[0]][:2000]
            t0 = time.perf_counter()
            for rec in lib_singles:
                mon.log_prediction(**rec)
            out["library_single_per_s"] = len(lib_singles) / (time.perf_counter() - t0)
            for kind, conv in (("dicts", lambda b: b), ("arrow", flat_table)):
                data = [conv([{**r, "prediction_id": f"{kind}-{r['prediction_id']}"} for r in b]) for b in batches]
                t0 = time.perf_counter()
                for d in data:
                    mon.log_predictions(d)
                out[f"library_batch_{kind}_per_s"] = args.batches * args.batch_size / (time.perf_counter() - t0)
        out.update(durable_duckdb(folder, singles[clients[0]][:2000], batches))
        if args.group_writers:
            print("the group commit alone, in process...", file=sys.stderr)
            out["group_commit"] = group_commit(config, folder, rng, [int(w) for w in args.group_writers.split(",")], 2000)
    out["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out))
        return
    print(f"load average (1 min) before {out['load_before']:.1f}, after {out['load_after']:.1f} on {os.cpu_count()} cores; "
          f"client: {args.client}{', server --dev (no token check)' if args.dev else ''}")
    for c in clients:
        s = out[f"http_single_{c}"]
        print(f"single predictions, {c:>3} clients: {s['per_s']:>7,.0f}/s  p50 {s['p50_ms']:6.1f} ms  p99 {s['p99_ms']:6.1f} ms  "
              f"({s['requests']:,} requests; target 2,000/s, p99 < 50 ms)")
    print(f"  baselines: library log_prediction {out['library_single_per_s']:,.0f}/s; "
          f"DuckDB one row a transaction {out['duckdb_single_per_s']:,.0f}/s")
    for kind in kinds:
        b = out[f"http_batch_{kind}"]
        print(f"batches of {args.batch_size:,} as {kind:<6}: {b['predictions_per_s']:>9,.0f} predictions/s  p50 {b['p50_ms']:6.1f} ms "
              f"a batch ({b['body_bytes'] / 1e6:.1f} MB; target 100,000/s)")
    print(f"  baselines: library log_predictions from dicts {out['library_batch_dicts_per_s']:,.0f}/s, from Arrow "
          f"{out['library_batch_arrow_per_s']:,.0f}/s; DuckDB insert from Arrow {out['duckdb_batch_predictions_per_s']:,.0f}/s")
    for g in out.get("group_commit", []):
        print(f"group commit in process, {g['writers']:>3} writers: {g['per_s']:>7,.0f}/s  mean group {g['mean_group']:5.1f}  "
              f"a group write {g['group_ms']:5.1f} ms  p50 {g['p50_ms']:5.1f} ms  p99 {g['p99_ms']:6.1f} ms")
    print(f"every acknowledged prediction stored: {out['stored_check']}")


if __name__ == "__main__":
    main()
