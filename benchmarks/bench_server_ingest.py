"""Load benchmark of the HTTP ingest on loopback: single predictions and batches, against the library in process.

Starts ``steward serve`` in a subprocess on a free loopback port with a fresh store and an
ingest token, then sends (bounded in count):

1. single predictions, ``--single`` requests from ``--concurrency`` concurrent keep-alive clients
   (plain sockets by default, which cost the shared CPU little; ``--client httpx`` for httpx):
   requests per second, p50/p99 latency seen by the client (``--dev``: no token check);
2. batches, ``--batches`` requests of ``--batch-size`` predictions: predictions per second.

The baseline, timed in the same run, is the library without HTTP: ``Monitor.log_prediction``
one at a time and ``Monitor.log_predictions`` per batch, on another fresh store. After the
server stops, the store is read with DuckDB SQL to check every acknowledged prediction is there.
Targets (issue 6, 2-core machine): 2,000 single predictions/s with p99 < 50 ms; 100,000
predictions/s in batches. It never asserts on timings.

    .venv/bin/python benchmarks/bench_server_ingest.py --quick
    .venv/bin/python benchmarks/bench_server_ingest.py --json
"""

from __future__ import annotations

import argparse
import asyncio
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
import yaml

from modelsteward.monitor import Monitor
from modelsteward.server.auth import create_token
from modelsteward.store.duckdb_store import DuckDBStore

LABELS = ["billing", "technical", "account"]
MODEL = {"name": "tickets", "task": "multiclass", "labels": LABELS,
         "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}]}
SERVE = "import modelsteward.cli.server, modelsteward.cli as c; c.main()"


def records(start: int, n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    conf = rng.uniform(0.3, 1.0, n)
    lab = rng.integers(0, 3, n)
    length = rng.normal(100, 20, n)
    return [{"prediction_id": f"p-{start + i}", "prediction": LABELS[lab[i]], "confidence": round(float(conf[i]), 4),
             "features": {"category": ["web", "phone", "mail"][lab[i]], "length": round(float(length[i]), 2)},
             "latency_ms": 25.0, "timestamp": f"2026-03-{2 + (start + i) % 7:02d}T10:00:00"} for i in range(n)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(config), "--port", str(port), *extra],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
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


async def send_singles(url: str, token: str, recs: list[dict[str, Any]], concurrency: int) -> list[float]:
    latencies: list[float] = []
    queue = list(reversed(recs))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30) as client:
        async def worker() -> None:
            while queue:
                rec = queue.pop()
                t0 = time.perf_counter()
                r = await client.post("/api/v1/models/tickets/predictions", json=rec)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise SystemExit(f"ingest failed: {r.status_code} {r.text}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def send_singles_raw(url: str, token: str, recs: list[dict[str, Any]], concurrency: int) -> list[float]:
    """The same requests over plain keep-alive sockets: a load generator that costs little CPU.

    httpx spends 1-3 ms of CPU per request (more with more connections), on the same two
    cores as the server, so with it the figures measure the client as much as the server.
    """
    host, port = url.removeprefix("http://").split(":")
    head = (f"POST /api/v1/models/tickets/predictions HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: ")
    bodies = [json.dumps(r).encode() for r in recs]
    latencies: list[float] = []
    queue = list(reversed(bodies))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while queue:
                body = queue.pop()
                t0 = time.perf_counter()
                writer.write(f"{head}{len(body)}\r\n\r\n".encode() + body)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--single", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--quick", action="store_true", help="1,000 singles and 5 batches")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--client", choices=["raw", "httpx"], default="raw",
                    help="load generator for single predictions: plain sockets (cheap) or httpx (1-3 ms CPU a request)")
    ap.add_argument("--dev", action="store_true", help="serve with --dev (no token check), to see what the per-request token look-up costs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.single, args.batches = 1000, 5
    rng = np.random.default_rng(args.seed)
    singles = records(0, args.single, rng)
    batches = [records(10_000_000 + b * args.batch_size, args.batch_size, rng) for b in range(args.batches)]
    out: dict[str, Any] = {"single": args.single, "concurrency": args.concurrency, "batches": args.batches, "batch_size": args.batch_size,
                           "token_check": not args.dev, "client": args.client}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "steward.yaml"
        config.write_text(yaml.safe_dump({"store": str(folder / "served.duckdb"), "models": [MODEL]}))
        with DuckDBStore(folder / "served.duckdb") as store:
            token = create_token(store, name="bench", scopes=["ingest"])[1]
        proc, url = start_server(config, folder / "server.log", *(["--dev"] if args.dev else []))
        try:
            print("single predictions over HTTP...", file=sys.stderr)
            t0 = time.perf_counter()
            send = send_singles_raw if args.client == "raw" else send_singles
            lat = asyncio.run(send(url, token, singles, args.concurrency))
            wall = time.perf_counter() - t0
            out["http_single_per_s"] = args.single / wall
            out["http_single_p50_ms"] = float(np.percentile(lat, 50) * 1000)
            out["http_single_p99_ms"] = float(np.percentile(lat, 99) * 1000)
            print("batches over HTTP...", file=sys.stderr)
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
                t0 = time.perf_counter()
                for batch in batches:
                    r = client.post("/api/v1/models/tickets/predictions:batch", json={"records": batch})
                    if r.status_code != 201 or r.json()["inserted"] != len(batch):
                        raise SystemExit(f"batch failed: {r.status_code} {r.text[:500]}")
                wall = time.perf_counter() - t0
            out["http_batch_predictions_per_s"] = args.batches * args.batch_size / wall
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        con = duckdb.connect(str(folder / "served.duckdb"), read_only=True)
        stored = con.execute("SELECT count(*) FROM predictions__tickets").fetchone()[0]  # type: ignore[index]
        con.close()
        out["stored_check"] = stored == args.single + args.batches * args.batch_size
        print("the library in process (baseline)...", file=sys.stderr)
        with Monitor(config, store=folder / "direct.duckdb") as mon:
            t0 = time.perf_counter()
            for rec in singles:
                mon.log_prediction(**rec)
            out["library_single_per_s"] = args.single / (time.perf_counter() - t0)
            renamed = [[{**r, "prediction_id": "d" + r["prediction_id"]} for r in b] for b in batches]
            t0 = time.perf_counter()
            for batch in renamed:
                mon.log_predictions(batch)
            out["library_batch_predictions_per_s"] = args.batches * args.batch_size / (time.perf_counter() - t0)
    if args.json:
        print(json.dumps(out))
        return
    print(f"single predictions: {out['http_single_per_s']:,.0f}/s over HTTP ({args.concurrency} {args.client} clients"
          f"{', no token check' if args.dev else ''}), "
          f"p50 {out['http_single_p50_ms']:.1f} ms, p99 {out['http_single_p99_ms']:.1f} ms "
          f"(target 2,000/s, p99 < 50 ms); library in process: {out['library_single_per_s']:,.0f}/s")
    print(f"batches of {args.batch_size:,}: {out['http_batch_predictions_per_s']:,.0f} predictions/s over HTTP "
          f"(target 100,000/s); library in process: {out['library_batch_predictions_per_s']:,.0f}/s")
    print(f"every acknowledged prediction stored: {out['stored_check']}")


if __name__ == "__main__":
    main()
