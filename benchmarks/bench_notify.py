"""Notification throughput: submit (durable enqueue) and deliver_due, each next to a plain baseline.

    .venv/bin/python benchmarks/bench_notify.py            # 2,000 notifications in batches of 20
    .venv/bin/python benchmarks/bench_notify.py --n 500 --json

1. submit: N notifications, ``--batch`` per call (one bad window's worth), into a fresh DuckDB
   file; baseline: the same JSON rows inserted with one ``executemany`` per batch into a table
   shaped like ``notification_events`` (what a bare outbox would cost).
2. deliver_due to a real loopback HTTP server (webhook, HMAC-signed), grouped by incident so
   every notification is one message; baseline: the same number of bare ``urllib`` POSTs of
   the same size to the same server.
Timings are medians of ``--repeat`` runs; the script checks counts and never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

from modelsteward.alerts.notify import Dispatcher, Notification
from modelsteward.config import StewardConfig
from modelsteward.store import DuckDBStore

T0 = datetime(2026, 1, 12)


def notifications(n: int) -> list[Notification]:
    return [Notification(kind="firing", incident_id=f"inc-{i}", fingerprint=f"fp-{i}", severity="high",
                         labels={"model": "tickets", "rule": f"rule_{i}", "severity": "high", "owner": "ml-team"},
                         summary=f"rule_{i} fired", value=0.8, threshold=0.85, window_start=T0 - timedelta(days=7),
                         window_end=T0, owner="ml-team", runbook="https://runbooks.example/x", at=T0) for i in range(n)]


class Sink(BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Sink.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("BENCH_HOOK_SECRET", "bench-secret")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    cfg = StewardConfig.model_validate({
        "models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"]}],
        "notifications": {"receivers": [{"name": "hook", "type": "webhook", "url": url, "secret_env": "BENCH_HOOK_SECRET"}],
                          "route": {"receiver": "hook", "group_wait": 0, "group_by": ["..."]}}})
    items = notifications(args.n)
    batches = [items[i:i + args.batch] for i in range(0, len(items), args.batch)]
    res: dict[str, list[float]] = {"submit": [], "submit_baseline": [], "deliver": [], "deliver_baseline": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            print(f"run {r + 1}/{args.repeat}", file=sys.stderr)
            with DuckDBStore(Path(tmp) / f"lib{r}.duckdb") as store:
                d = Dispatcher(store, cfg, seed=0)
                t = time.perf_counter()
                for b in batches:
                    d.submit(b)
                res["submit"].append(time.perf_counter() - t)
                assert store.query("SELECT count(*) FROM notification_events")[0][0] == args.n
                Sink.count = 0
                t = time.perf_counter()
                report = d.deliver_due(T0)
                res["deliver"].append(time.perf_counter() - t)
                assert report.sent == args.n == Sink.count, (report.sent, Sink.count)
            con = duckdb.connect(str(Path(tmp) / f"base{r}.duckdb"))
            con.execute("CREATE TABLE ev (event_id VARCHAR PRIMARY KEY, kind VARCHAR, incident_id VARCHAR, fingerprint VARCHAR, "
                        "payload VARCHAR, event_at TIMESTAMP, submitted_at TIMESTAMP, routed_to INTEGER)")
            t = time.perf_counter()
            for b in batches:
                con.execute("BEGIN TRANSACTION")
                con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                                [[n.incident_id, n.kind, n.incident_id, n.fingerprint, json.dumps(n.to_dict()), n.at, T0] for n in b])
                con.execute("COMMIT")
            res["submit_baseline"].append(time.perf_counter() - t)
            con.close()
            body = json.dumps({"notifications": [items[0].to_dict()]}).encode()
            Sink.count = 0
            t = time.perf_counter()
            for _ in range(args.n):
                req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
                with urllib.request.urlopen(req, timeout=5) as resp:
                    resp.read()
            res["deliver_baseline"].append(time.perf_counter() - t)
            assert Sink.count == args.n
    server.shutdown()
    med = {k: statistics.median(v) for k, v in res.items()}
    out = {
        "n": args.n, "batch": args.batch,
        "submit_s": med["submit"], "submit_baseline_s": med["submit_baseline"],
        "submit_per_notification_ms": 1000 * med["submit"] / args.n,
        "submit_ratio": med["submit"] / med["submit_baseline"],
        "deliver_s": med["deliver"], "deliver_baseline_s": med["deliver_baseline"],
        "deliver_per_message_ms": 1000 * med["deliver"] / args.n,
        "deliver_ratio": med["deliver"] / med["deliver_baseline"],
    }
    if args.json:
        print(json.dumps(out))
        return
    print(f"submit  {args.n} notifications in batches of {args.batch}: {med['submit']:.3f} s "
          f"({out['submit_per_notification_ms']:.2f} ms each); bare executemany baseline {med['submit_baseline']:.3f} s "
          f"-> {out['submit_ratio']:.1f}x")
    print(f"deliver {args.n} messages (signed webhook, loopback): {med['deliver']:.3f} s "
          f"({out['deliver_per_message_ms']:.2f} ms each); bare urllib POST baseline {med['deliver_baseline']:.3f} s "
          f"-> {out['deliver_ratio']:.1f}x")


if __name__ == "__main__":
    main()
