"""Bounded soak of ``steward serve`` on loopback: mixed ingest, feedback, dashboard and API reads, scheduled monitoring.

Starts ``steward serve`` in a subprocess on a free loopback port, on a fresh store in a
temporary folder with the demo's ``steward.yaml`` (the course lab's ticket model, its eleven
alert rules and retraining triggers; ``--prefill demo`` also logs the lab's eight weeks first)
and the monitoring cycle every ``--check-every`` seconds. Then, for ``--minutes`` (default 3,
at most 10; it stops by itself), paced clients send together:

- ``single``: one prediction per request (``--single-rate`` per second);
- ``batch``: batches of ``--batch-size`` predictions (``--batch-rate`` per second);
- ``feedback`` / ``fb_batch``: labels for acknowledged predictions, one at a time and in batches of 100;
- ``page``: dashboard pages of a signed-in viewer (overview, drift, alerts, feedback, plan);
- ``api``: API reads (models, metrics, drift, alerts, incidents, retrain requests, /metrics).

The predictions are stamped in the last completed week, as a backfill is, so every monitoring
pass recomputes that window over a growing table (metrics, drift tests, alert rules) while the
writes go on: the pass holds the store's lock, and its cost shows in the writes' p99.

Every ``--every`` seconds a row: elapsed time, requests per second and p50/p99 latency by kind
in that interval, errors so far, the server's RSS (``VmRSS`` of ``/proc/<pid>/status``), the
store's size on disk (file and WAL) and the monitoring passes logged so far (read from the
server's own JSON log). At the end: totals; the server is stopped with SIGTERM and the store
is read with DuckDB: the stored soak predictions and feedback must be exactly the acknowledged
ones (same ids, none missing, none extra).

Memory bound: after ``--warmup`` seconds (20; imports, caches and the first passes settle),
the median RSS of the last third of the run may exceed the median of the first third by at
most ``--memory-slack-mb`` (64 MB) plus the growth of the store file over the same time.
DuckDB's buffer manager keeps the blocks it has read in memory (up to its memory limit, 80% of
RAM by default), so RSS that follows the store is cache, not a leak; the slack covers Python's
heap and allocator arenas and the working memory of a monitoring pass, which settle under
steady load. Growth beyond that follows the number of requests, not the data: a leak. The
exit code is 1 when any request failed, the counts differ, the server logged an error, or the
bound is exceeded.

    .venv/bin/python benchmarks/bench_soak.py                 # 3 minutes
    .venv/bin/python benchmarks/bench_soak.py --minutes 10 --json
    .venv/bin/python benchmarks/bench_soak.py --log-overhead  # cost of the access log per request
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np

MODEL = "ticket-classifier"
KINDS = ("single", "batch", "feedback", "fb_batch", "page", "api")
SERVE = "import modelsteward.cli as c; c.main()"
PAGES = ["/models/{m}", "/models/{m}/drift", "/models/{m}/drift/category", "/models/{m}/alerts", "/models/{m}/feedback",
         "/models/{m}/plan", "/models/{m}/review"]
READS = ["/api/v1/models", "/api/v1/models/{m}/metrics", "/api/v1/models/{m}/drift", "/api/v1/models/{m}/alerts",
         "/api/v1/models/{m}/incidents", "/api/v1/models/{m}/retrain-requests", "/metrics"]
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- the store and the server ----------------------------------------------------------------
def prepare(folder: Path, prefill: str) -> dict[str, str]:
    """The demo's steward.yaml and reference data in ``folder`` (and its eight weeks with ``demo``); tokens and a viewer."""
    from modelsteward.server.auth import create_token, create_user
    from modelsteward.store.duckdb_store import DuckDBStore

    if prefill == "demo":
        from modelsteward.demo import run_demo

        run_demo(folder)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from modelsteward.lab import lab_draws, lab_events

        folder.mkdir(parents=True, exist_ok=True)
        with resources.as_file(resources.files("modelsteward") / "templates" / "steward.yaml") as template:
            shutil.copyfile(template, folder / "steward.yaml")
        pq.write_table(pa.table(lab_events(lab_draws()).training), folder / "training.parquet")
    password = secrets.token_urlsafe(16)
    with DuckDBStore(folder / "steward.duckdb") as store:
        ingest = create_token(store, name="soak-ingest", scopes=["ingest"])[1]
        read = create_token(store, name="soak-read", scopes=["read"])[1]
        create_user(store, "soak-viewer", "viewer", password)
    return {"ingest": ingest, "read": read, "password": password}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: Path, check_every: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "-c", str(folder / "steward.yaml"), "--port", str(port),
                                 "--check-every", check_every, "--log-format", "json"],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, log
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the server did not answer within 60 s:\n{log.read_text(errors='replace')}")


def rss_mb(pid: int) -> float:
    """The resident set of process ``pid`` in MB (``VmRSS`` of /proc/<pid>/status)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def store_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in (folder / "steward.duckdb", folder / "steward.duckdb.wal") if p.exists()) / 2**20


class ServerLog:
    """Reads the server's JSON log as it grows: monitoring passes, error lines, the shutdown line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.cycles: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.shutdown: dict[str, Any] | None = None
        self.unparsed = 0

    def read(self) -> None:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # a line being written waits for the next read
        self.offset += end
        for raw in chunk[:end].splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                self.unparsed += 1
                continue
            if line.get("event") == "monitoring_cycle":
                self.cycles.append(line)
            elif line.get("event") == "shutdown":
                self.shutdown = line
            if line.get("level") in ("error", "critical"):
                self.errors.append(line)


# -- the load ---------------------------------------------------------------------------------
class Load:
    """What is sent and what was acknowledged, by kind."""

    def __init__(self, seed: int, week_start: datetime) -> None:
        self.rng = random.Random(seed)
        self.week_start = week_start
        self.next_id = 0
        self.next_fb = 0
        self.acked_predictions: set[str] = set()
        self.acked_feedback: set[str] = set()
        self.awaiting_feedback: list[tuple[str, str]] = []  # (prediction id, prediction) acknowledged, not yet labelled
        self.latencies: dict[str, list[float]] = {k: [] for k in KINDS}
        self.interval: dict[str, list[float]] = {k: [] for k in KINDS}
        self.errors: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.error_samples: list[str] = []

    def prediction(self) -> dict[str, Any]:
        r = self.rng
        pid = f"soak-{self.next_id}"
        self.next_id += 1
        technical = r.random() < 0.3
        label = "urgent" if r.random() < (0.6 if technical else 0.25) else "routine"
        ts = self.week_start + timedelta(seconds=r.uniform(0, 7 * 86400 - 1))
        return {"prediction_id": pid, "prediction": label, "confidence": round(r.uniform(0.55, 0.99), 4),
                "features": {"category": "technical" if technical else "other"},
                "latency_ms": round(r.gammavariate(2.0, 40.0), 2), "timestamp": ts.isoformat()}

    def feedback(self) -> dict[str, Any] | None:
        if not self.awaiting_feedback:
            return None
        i = self.rng.randrange(len(self.awaiting_feedback))
        self.awaiting_feedback[i], self.awaiting_feedback[-1] = self.awaiting_feedback[-1], self.awaiting_feedback[i]
        pid, predicted = self.awaiting_feedback.pop()
        label = predicted if self.rng.random() < 0.85 else ("routine" if predicted == "urgent" else "urgent")
        fid = f"soak-fb-{self.next_fb}"
        self.next_fb += 1
        return {"prediction_id": pid, "feedback_id": fid, "kind": "explicit", "label": label}

    def acknowledge(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self.acked_predictions.add(rec["prediction_id"])
            self.awaiting_feedback.append((rec["prediction_id"], rec["prediction"]))

    def failed(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}"[:300])


async def paced(stop: asyncio.Event, rate: float, workers: int, op: Callable[[], Awaitable[None]]) -> None:
    """Run ``op`` about ``rate`` times per second from ``workers`` tasks until ``stop``; a late task does not burst to catch up."""
    period = workers / rate

    async def worker(k: int) -> None:
        due = time.monotonic() + k * period / workers
        while not stop.is_set():
            delay = due - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            await op()
            due = max(due + period, time.monotonic() - period)

    await asyncio.gather(*(worker(k) for k in range(workers)))


async def timed(load: Load, kind: str, send: Awaitable[httpx.Response], ok: Callable[[httpx.Response], bool]) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        answer = await send
    except httpx.HTTPError as exc:
        load.failed(kind, f"{type(exc).__name__}: {exc}")
        return None
    took = (time.perf_counter() - start) * 1000
    load.latencies[kind].append(took)
    load.interval[kind].append(took)
    if not ok(answer):
        load.failed(kind, f"{answer.status_code} {answer.text}")
        return None
    return answer


def created(answer: httpx.Response) -> bool:
    return answer.status_code == 201


def fine(answer: httpx.Response) -> bool:
    return answer.status_code == 200


async def drive(url: str, secrets_: dict[str, str], load: Load, args: argparse.Namespace, stop: asyncio.Event) -> None:
    base = f"/api/v1/models/{MODEL}"
    timeout = httpx.Timeout(120.0)
    ingest = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {secrets_['ingest']}"}, timeout=timeout,
                               limits=httpx.Limits(max_connections=16))
    reader = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {secrets_['read']}"}, timeout=timeout)
    browser = httpx.AsyncClient(base_url=url, timeout=timeout)
    form = await browser.get("/login")
    token = CSRF_FIELD.search(form.text)
    signed = await browser.post("/login", data={"name": "soak-viewer", "password": secrets_["password"], "next": "/",
                                                "csrf_token": token.group(1) if token else ""})
    if signed.status_code != 303:
        raise SystemExit(f"could not sign in to the dashboard: {signed.status_code} {signed.text[:300]}")
    pages = iter(range(10**9))
    reads = iter(range(10**9))

    async def single() -> None:
        rec = load.prediction()
        if await timed(load, "single", ingest.post(base + "/predictions", json=rec), created):
            load.acknowledge([rec])

    async def batch() -> None:
        recs = [load.prediction() for _ in range(args.batch_size)]
        answer = await timed(load, "batch", ingest.post(base + "/predictions:batch", json={"records": recs}), created)
        if answer is not None and answer.json().get("inserted") == len(recs):
            load.acknowledge(recs)
        elif answer is not None:
            load.failed("batch", f"inserted {answer.json().get('inserted')} of {len(recs)}")

    async def feedback() -> None:
        rec = load.feedback()
        if rec is not None and await timed(load, "feedback", ingest.post(base + "/feedback", json=rec), created):
            load.acked_feedback.add(rec["feedback_id"])

    async def feedback_batch() -> None:
        recs = [r for r in (load.feedback() for _ in range(100)) if r is not None]
        if recs and await timed(load, "fb_batch", ingest.post(base + "/feedback:batch", json={"records": recs}), created):
            load.acked_feedback.update(r["feedback_id"] for r in recs)

    async def page() -> None:
        await timed(load, "page", browser.get(PAGES[next(pages) % len(PAGES)].format(m=MODEL)), fine)

    async def api() -> None:
        await timed(load, "api", reader.get(READS[next(reads) % len(READS)].format(m=MODEL)), fine)

    try:
        await asyncio.gather(
            paced(stop, args.single_rate, 16, single), paced(stop, args.batch_rate, 2, batch),
            paced(stop, args.feedback_rate, 4, feedback), paced(stop, 1.0, 1, feedback_batch),
            paced(stop, args.page_rate, 1, page), paced(stop, args.api_rate, 2, api))
    finally:
        for client in (ingest, reader, browser):
            await client.aclose()


# -- figures ------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def fmt(value: float | None, width: int = 5) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.0f}" if value >= 100 else f"{value:>{width}.1f}"


def header() -> str:
    kinds = " | ".join(f"{k:^17}" for k in KINDS)
    units = " | ".join(f"{'r/s':>5} {'p50':>5} {'p99':>5}" for _ in KINDS)
    return f"{'t (s)':>6} | {kinds} | {'err':>4} {'RSS MB':>7} {'store MB':>8} {'passes':>6}\n{'':>6} | {units} |"


def row(elapsed: float, span: float, load: Load, rss: float, store: float, passes: int) -> str:
    cells = []
    for k in KINDS:
        lat = load.interval[k]
        cells.append(f"{fmt(len(lat) / span)} {fmt(pct(lat, 50))} {fmt(pct(lat, 99))}")
        load.interval[k] = []
    return f"{elapsed:>6.0f} | {' | '.join(cells)} | {sum(load.errors.values()):>4} {rss:>7.1f} {store:>8.1f} {passes:>6}"


def memory_verdict(samples: list[tuple[float, float, float]], slack_mb: float, warmup: float) -> dict[str, Any]:
    """Median RSS and store size of the first and last thirds of the run after the warm-up, and the bound on RSS growth."""
    counted = [s for s in samples if s[0] >= warmup] or samples
    begin, end = counted[0][0], counted[-1][0]
    first = [s for s in counted if s[0] <= begin + (end - begin) / 3]
    last = [s for s in counted if s[0] >= begin + 2 * (end - begin) / 3]
    rss_first, rss_last = float(np.median([s[1] for s in first])), float(np.median([s[1] for s in last]))
    store_growth = max(0.0, float(np.median([s[2] for s in last]) - np.median([s[2] for s in first])))
    bound = slack_mb + store_growth
    return {"from_s": round(begin, 1), "rss_first_third_mb": round(rss_first, 1), "rss_last_third_mb": round(rss_last, 1),
            "rss_growth_mb": round(rss_last - rss_first, 1), "store_growth_mb": round(store_growth, 1),
            "slack_mb": slack_mb, "bound_mb": round(bound, 1), "within_bound": rss_last - rss_first <= bound,
            "rss_max_mb": round(max(s[1] for s in samples), 1)}


def stored_ids(store_path: Path) -> tuple[set[str], set[str]]:
    from modelsteward.store.duckdb_store import DuckDBStore

    con = duckdb.connect(str(store_path), read_only=True)
    try:
        table = DuckDBStore.predictions_table(MODEL)
        preds = {r[0] for r in con.execute(f"SELECT prediction_id FROM {table} WHERE prediction_id LIKE 'soak-%'").fetchall()}
        fbs = {r[0] for r in con.execute("SELECT feedback_id FROM feedback WHERE feedback_id LIKE 'soak-fb-%'").fetchall()}
    finally:
        con.close()
    return preds, fbs


async def soak(args: argparse.Namespace, folder: Path, say: Callable[[str], None]) -> dict[str, Any]:
    say(f"preparing the store in {folder} ({'the demo lab' if args.prefill == 'demo' else 'empty'})...")
    keys = prepare(folder, args.prefill)
    proc, url, log_path = start_server(folder, args.check_every)
    log = ServerLog(log_path)
    now = datetime.now(UTC).replace(tzinfo=None)
    this_monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    load = Load(args.seed, this_monday - timedelta(weeks=1))
    stop = asyncio.Event()
    samples: list[tuple[float, float, float]] = []
    say(f"serving {url} (pid {proc.pid}); soaking for {args.minutes:g} min, a row every {args.every:g} s")
    say(header())
    started = time.monotonic()
    driver = asyncio.create_task(drive(url, keys, load, args, stop))
    last_row = started
    try:
        while time.monotonic() - started < args.minutes * 60 and not driver.done():
            await asyncio.sleep(1.0)
            if proc.poll() is not None:
                say(f"the server exited with {proc.returncode}")
                break
            t = time.monotonic()
            samples.append((t - started, rss_mb(proc.pid), store_mb(folder)))
            if t - last_row >= args.every - 0.01:
                log.read()
                say(row(t - started, t - last_row, load, samples[-1][1], samples[-1][2], len(log.cycles)))
                last_row = t
    finally:
        stop.set()
        await driver  # requests in flight finish
    elapsed = time.monotonic() - started
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    log.read()
    stored_p, stored_f = stored_ids(folder / "steward.duckdb")
    kinds = {k: {"requests": len(load.latencies[k]), "errors": load.errors[k], "per_s": round(len(load.latencies[k]) / elapsed, 1),
                 "p50_ms": pct(load.latencies[k], 50), "p99_ms": pct(load.latencies[k], 99)} for k in KINDS}
    for k in kinds.values():
        k["p50_ms"] = None if k["p50_ms"] is None else round(k["p50_ms"], 1)
        k["p99_ms"] = None if k["p99_ms"] is None else round(k["p99_ms"], 1)
    counts = {"predictions_acknowledged": len(load.acked_predictions), "predictions_stored": len(stored_p),
              "feedback_acknowledged": len(load.acked_feedback), "feedback_stored": len(stored_f),
              "match": stored_p == load.acked_predictions and stored_f == load.acked_feedback}
    durations = [c.get("duration_ms", 0.0) for c in log.cycles]
    summary: dict[str, Any] = {
        "minutes": args.minutes, "elapsed_s": round(elapsed, 1), "check_every": args.check_every, "prefill": args.prefill,
        "kinds": kinds, "errors": sum(load.errors.values()), "error_samples": load.error_samples, "counts": counts,
        "memory": memory_verdict(samples, args.memory_slack_mb, args.warmup) if samples else None,
        "store_mb": round(store_mb(folder), 1),
        "monitoring_passes": {"count": len(log.cycles), "failed": sum(c.get("status") != "ok" for c in log.cycles),
                              "p50_ms": pct(durations, 50), "max_ms": max(durations, default=None),
                              "windows": sum(c.get("windows", 0) for c in log.cycles),
                              "alerts_fired": sum(c.get("alerts_fired", 0) for c in log.cycles)},
        "server": {"exit_code": code, "error_lines": len(log.errors), "unparsed_lines": log.unparsed,
                   "shutdown": {k: log.shutdown.get(k) for k in ("requests_served", "requests_unfinished")} if log.shutdown else None},
    }
    summary["ok"] = bool(summary["errors"] == 0 and counts["match"] and not log.errors and log.shutdown is not None
                         and code in (0, -signal.SIGTERM) and summary["memory"] is not None and summary["memory"]["within_bound"])
    return summary


def report(summary: dict[str, Any], say: Callable[[str], None]) -> None:
    say(f"\ntotals over {summary['elapsed_s']} s:")
    for k, v in summary["kinds"].items():
        say(f"  {k:<9} {v['requests']:>8} requests  {v['per_s']:>7.1f}/s  p50 {fmt(v['p50_ms'])} ms  p99 {fmt(v['p99_ms'])} ms  "
            f"errors {v['errors']}")
    c, m, p = summary["counts"], summary["memory"], summary["monitoring_passes"]
    say(f"  predictions: {c['predictions_acknowledged']} acknowledged, {c['predictions_stored']} stored; feedback: "
        f"{c['feedback_acknowledged']} acknowledged, {c['feedback_stored']} stored -> {'match' if c['match'] else 'MISMATCH'}")
    say(f"  monitoring passes: {p['count']} ({p['failed']} failed), median {fmt(p['p50_ms'])} ms, max {fmt(p['max_ms'])} ms, "
        f"{p['windows']} windows, {p['alerts_fired']} alerts")
    if m:
        say(f"  RSS after {m['from_s']:.0f} s: first third {m['rss_first_third_mb']} MB, last third {m['rss_last_third_mb']} MB, "
            f"growth {m['rss_growth_mb']} MB "
            f"(bound {m['bound_mb']} MB = {m['slack_mb']} MB slack + {m['store_growth_mb']} MB store growth) -> "
            f"{'within' if m['within_bound'] else 'EXCEEDED'}; max {m['rss_max_mb']} MB; store {summary['store_mb']} MB")
    s = summary["server"]
    say(f"  server: exit {s['exit_code']}, {s['error_lines']} error line(s), shutdown {s['shutdown']}")
    for e in summary["error_samples"]:
        say(f"  error: {e}")
    say("OK" if summary["ok"] else "FAILED")


def log_overhead(say: Callable[[str], None], n: int = 20_000) -> dict[str, float]:
    """Microseconds per request of the request log (JSON line to /dev/null) against uvicorn's own access line, in process."""
    import logging

    from uvicorn.config import LOGGING_CONFIG
    from uvicorn.logging import AccessFormatter

    from modelsteward.server.logs import RequestLog, configure_logging

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"duplicate":false}'})

    async def nothing(message: Any = None) -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    uv = logging.getLogger("uvicorn.access")

    async def uvicorn_line(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        uv.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", scope["method"], scope["path"], "1.1", 201)

    async def run(target: Any) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await target({"type": "http", "method": "POST", "path": f"/api/v1/models/{MODEL}/predictions", "query_string": b"",
                          "headers": [(b"authorization", b"Bearer x"), (b"x-request-id", b"abc-1")],
                          "client": ("127.0.0.1", 5000), "state": {}}, nothing, nothing)
        return (time.perf_counter() - start) / n * 1e6

    with open(os.devnull, "w") as devnull:
        configure_logging("json", "info", stream=devnull)
        uv.propagate = False
        handler = logging.StreamHandler(devnull)
        handler.setFormatter(AccessFormatter(LOGGING_CONFIG["formatters"]["access"]["fmt"], use_colors=False))
        uv.addHandler(handler)
        best = {"bare": float("inf"), "request_log": float("inf"), "uvicorn_access_line": float("inf")}
        for _ in range(5):
            for name, target in (("bare", app), ("request_log", RequestLog(app)), ("uvicorn_access_line", uvicorn_line)):
                best[name] = min(best[name], asyncio.run(run(target)))
    figures = {"request_log_us": round(best["request_log"] - best["bare"], 1),
               "uvicorn_access_line_us": round(best["uvicorn_access_line"] - best["bare"], 1)}
    say(f"per request, best of 5 x {n}: request log {figures['request_log_us']} us; uvicorn's own access line (baseline, "
        f"what it replaces) {figures['uvicorn_access_line_us']} us")
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0, help="how long to soak (at most 10)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between rows")
    ap.add_argument("--check-every", default="10s", help="the server's monitoring interval")
    ap.add_argument("--warmup", type=float, default=20.0,
                    help="seconds of load before the memory samples count (imports, caches and the first passes settle)")
    ap.add_argument("--prefill", choices=["demo", "none"], default="demo", help="log the demo's eight weeks first, or start empty")
    ap.add_argument("--single-rate", type=float, default=200.0, help="single predictions per second")
    ap.add_argument("--batch-rate", type=float, default=2.0, help="batches per second")
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--feedback-rate", type=float, default=40.0, help="single feedback per second (and one batch of 100 a second)")
    ap.add_argument("--page-rate", type=float, default=1.0, help="dashboard pages per second")
    ap.add_argument("--api-rate", type=float, default=5.0, help="API reads per second")
    ap.add_argument("--memory-slack-mb", type=float, default=64.0, help="RSS growth allowed beyond the store's growth")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (store and server log)")
    ap.add_argument("--dir", type=Path, default=None, help="an empty or new folder to use (kept) instead of a temporary one")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON on stdout (rows go to stderr)")
    ap.add_argument("--log-overhead", action="store_true", help="only measure the access log's cost per request, in process")
    args = ap.parse_args()
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else (lambda s: print(s, flush=True))
    if args.log_overhead:
        figures = log_overhead(say)
        if args.json:
            print(json.dumps(figures))
        return
    if not 0 < args.minutes <= 10:
        ap.error("--minutes must be more than 0 and at most 10")
    if args.dir is not None and args.dir.exists() and any(args.dir.iterdir()):
        ap.error(f"--dir {args.dir} is not empty; give a new or empty folder")
    folder = args.dir.resolve() if args.dir is not None else Path(tempfile.mkdtemp(prefix="steward-soak-"))
    try:
        summary = asyncio.run(soak(args, folder, say))
    finally:
        if args.keep or args.dir is not None:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary, say)
    sys.exit(0 if summary["ok"] else 1)


if __name__ == "__main__":
    main()
