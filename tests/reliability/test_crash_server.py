"""SIGKILL a real ``steward serve`` in the middle of sustained batch ingest, restart it, retry, count.

Four client threads (two sending prediction batches, two sending feedback batches) post as fast
as the server answers. The server is killed with SIGKILL twice, each time while every client
has a request on its way (sent, no answer yet), and restarted on the same store file. A client whose request got no
answer (refused, reset, or cut off mid-response) sends the same batch again (same ids, same
content) to the new server, then goes on. At the end the store file is read with plain DuckDB
SQL, independently of the service: every acknowledged row is there exactly once with the
content sent, retries added nothing twice, and after ``steward check`` each window's volume,
labelled count and accuracy are what the sent data says.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import numpy as np
import pyarrow as pa
import pytest
from server.conftest import LABELS, SERVE, auth

API = "/api/v1/models/tickets"
SEED = 20261126
PRED_THREADS, PRED_BATCHES, PRED_ROWS = 2, 20, 250  # 10,000 predictions
FB_THREADS, FB_BATCHES, FB_ROWS = 2, 20, 100  # 4,000 feedback
KILL_AFTER_ACKS = (8, 28)  # acknowledged batches (of 80, all kinds) before each SIGKILL
MONDAY = datetime(2026, 3, 2)


def make_traffic() -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Prediction batches and feedback batches (seeded): three weeks of traffic, every fourth prediction labelled once."""
    rng = np.random.default_rng(SEED)
    preds: list[dict[str, Any]] = []
    for i in range(PRED_THREADS * PRED_BATCHES * PRED_ROWS):
        ts = MONDAY + timedelta(seconds=int(rng.integers(0, 21 * 86400)))
        preds.append({"prediction_id": f"p-{i}", "prediction": LABELS[int(rng.integers(0, 3))],
                      "confidence": round(float(rng.uniform(0.3, 1.0)), 4),
                      "features": {"category": ["web", "phone", "mail"][int(rng.integers(0, 3))], "length": float(rng.integers(5, 500))},
                      "timestamp": ts.isoformat(), "latency_ms": round(float(rng.gamma(2.0, 20.0)), 3)})
    labelled = rng.choice(len(preds), size=FB_THREADS * FB_BATCHES * FB_ROWS, replace=False)
    feedback = []
    for n, k in enumerate(labelled):
        p = preds[int(k)]
        right = rng.random() < 0.8
        label = p["prediction"] if right else LABELS[(LABELS.index(p["prediction"]) + 1) % 3]
        ts = datetime.fromisoformat(p["timestamp"]) + timedelta(hours=1)
        feedback.append({"feedback_id": f"f-{n}", "prediction_id": p["prediction_id"], "kind": "explicit", "label": label,
                         "timestamp": ts.isoformat()})
    pred_batches = [preds[i:i + PRED_ROWS] for i in range(0, len(preds), PRED_ROWS)]
    fb_batches = [feedback[i:i + FB_ROWS] for i in range(0, len(feedback), FB_ROWS)]
    return pred_batches, fb_batches


@dataclass
class Run:
    """What the clients share with the test: the server's address and generation, and what happened."""

    url: str
    token: str
    generation: int = 0
    inflight: int = 0
    acked: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)
    # (batch number, the answer, whether it answered a retry) per kind
    answers: dict[str, list[tuple[int, dict[str, Any], bool]]] = field(default_factory=lambda: {"predictions": [], "feedback": []})
    failures: Counter[str] = field(default_factory=Counter)  # transport errors by type: the unacknowledged sends
    retried_batches: int = 0
    unexpected: list[str] = field(default_factory=list)
    done: int = 0


def client(run: Run, kind: str, batches: list[tuple[int, bytes]]) -> None:
    """Send each batch until it is acknowledged; after a failed send, wait for a new server and send it again."""
    path = API + ("/predictions:batch" if kind == "predictions" else "/feedback:batch")
    headers = {**auth(run.token), "content-type": "application/json"}
    i, retrying = 0, False
    while i < len(batches):
        number, body = batches[i]
        with run.lock:
            url, generation = run.url, run.generation
            run.inflight += 1
        try:
            with httpx.Client(timeout=60) as http:
                r = http.post(url + path, content=body, headers=headers)
        except httpx.TransportError as exc:
            with run.lock:
                run.inflight -= 1
                run.failures[type(exc).__name__] += 1
                if not run.lock.wait_for(lambda g=generation: run.generation > g, timeout=120):
                    run.unexpected.append(f"{kind} batch {number}: no new server within 120 s")
                    run.lock.notify_all()
                    return
            retrying = True
            continue
        with run.lock:
            run.inflight -= 1
            if r.status_code != 201:
                run.unexpected.append(f"{kind} batch {number}: {r.status_code} {r.text[:300]}")
                run.lock.notify_all()  # the test stops at once
                return
            run.answers[kind].append((number, r.json(), retrying))
            run.acked += 1
            run.retried_batches += retrying
            run.lock.notify_all()
        i, retrying = i + 1, False
    with run.lock:
        run.done += 1
        run.lock.notify_all()


def test_acknowledged_batches_survive_sigkill_and_retries_count_once(config_file: Path, store_path: Path, tokens, start_server):
    pred_batches, fb_batches = make_traffic()
    started = time.monotonic()
    server = start_server(config_file)
    run = Run(server.url, tokens["ingest"])
    work: list[tuple[str, list[tuple[int, bytes]]]] = []
    for t in range(PRED_THREADS):
        work.append(("predictions", [(n, json.dumps({"records": b}).encode())
                                     for n, b in enumerate(pred_batches) if n % PRED_THREADS == t]))
    for t in range(FB_THREADS):
        work.append(("feedback", [(n, json.dumps({"records": b}).encode()) for n, b in enumerate(fb_batches) if n % FB_THREADS == t]))
    threads = [threading.Thread(target=client, args=(run, kind, batches), daemon=True) for kind, batches in work]
    for th in threads:
        th.start()

    kills = []
    for threshold in KILL_AFTER_ACKS:
        with run.lock:
            # Mid-stream: enough batches acknowledged, and every client still sending is waiting on an answer.
            assert run.lock.wait_for(lambda t=threshold: run.unexpected or (
                run.acked >= t and run.inflight >= 2 and run.inflight == len(threads) - run.done), timeout=120)
            assert not run.unexpected, run.unexpected
            acked_at_kill = run.acked
            server.process.send_signal(signal.SIGKILL)
        assert server.process.wait(timeout=30) == -signal.SIGKILL
        kills.append(acked_at_kill)
        server = start_server(config_file)  # the same store file, replayed from DuckDB's write-ahead log
        with run.lock:
            run.url = server.url
            run.generation += 1
            run.lock.notify_all()

    with run.lock:
        assert run.lock.wait_for(lambda: run.unexpected or run.done == len(threads), timeout=240), "clients did not finish"
    assert not run.unexpected, run.unexpected
    for th in threads:
        th.join(timeout=10)
    # Each kill left sends without an answer (cut off in flight, or refused while the server was down).
    assert sum(run.failures.values()) >= len(KILL_AFTER_ACKS) and run.retried_batches >= len(KILL_AFTER_ACKS), run.failures
    cut_off = sum(n for name, n in run.failures.items() if name != "ConnectError")

    # Every batch was acknowledged exactly once in the end. A first send inserted the whole batch; a retry
    # inserted all of it or none (a batch is atomic): none when the killed server had committed it but not
    # answered, and then every row came back as a duplicate, not a second copy.
    sent_preds = [p for b in pred_batches for p in b]
    sent_fb = [f for b in fb_batches for f in b]
    committed_unacked = 0
    for kind, batches in (("predictions", pred_batches), ("feedback", fb_batches)):
        assert sorted(n for n, _, _ in run.answers[kind]) == list(range(len(batches)))
        for n, a, retried in run.answers[kind]:
            size = len(batches[n])
            assert a["total"] == size and a["inserted"] + a["duplicates"] == size
            assert (a["inserted"], a["duplicates"]) in ([(size, 0), (0, size)] if retried else [(size, 0)]), (kind, n, a)
            committed_unacked += a["duplicates"]

    # Answers lost after the commit: a client that never heard back sends the batch again; nothing is added.
    rng = np.random.default_rng(SEED + 1)
    with httpx.Client(base_url=server.url, headers=auth(tokens["ingest"]), timeout=60) as http:
        for path, batches in (("/predictions:batch", pred_batches), ("/feedback:batch", fb_batches)):
            for n in rng.choice(len(batches), size=4, replace=False):
                again = http.post(API + path, json={"records": batches[int(n)]})
                assert again.status_code == 201 and again.json() == {"inserted": 0, "duplicates": len(batches[int(n)]),
                                                                     "total": len(batches[int(n)])}
    assert server.stop() in (0, -signal.SIGINT, -signal.SIGTERM)
    ingested = time.monotonic()
    checked = subprocess.run([sys.executable, "-c", SERVE, "check", "-c", str(config_file), "--json", "--fail-on", "never"],
                             capture_output=True, text=True, timeout=180)
    assert checked.returncode == 0, checked.stderr
    timing = f"ingest with kills and restarts {ingested - started:.1f} s, steward check {time.monotonic() - ingested:.1f} s"

    con = duckdb.connect(str(store_path), read_only=True)
    try:
        con.register("sent_predictions", pa.Table.from_pylist(
            [{"prediction_id": p["prediction_id"], "prediction": p["prediction"], "confidence": p["confidence"],
              "latency_ms": p["latency_ms"], "ts": datetime.fromisoformat(p["timestamp"])} for p in sent_preds]))
        con.register("sent_feedback", pa.Table.from_pylist(
            [{"feedback_id": f["feedback_id"], "prediction_id": f["prediction_id"], "label": f["label"],
              "ts": datetime.fromisoformat(f["timestamp"])} for f in sent_fb]))
        n, distinct = con.execute("SELECT count(*), count(DISTINCT prediction_id) FROM predictions__tickets").fetchall()[0]
        assert n == distinct == len(sent_preds)
        missing_or_changed = con.execute(
            "SELECT count(*) FROM (SELECT prediction_id, prediction, confidence, latency_ms, ts FROM sent_predictions "
            "EXCEPT ALL SELECT prediction_id, prediction, confidence, latency_ms, ts FROM predictions__tickets)").fetchall()[0][0]
        assert missing_or_changed == 0
        n, distinct = con.execute("SELECT count(*), count(DISTINCT feedback_id) FROM feedback").fetchall()[0]
        assert n == distinct == len(sent_fb)
        assert con.execute("SELECT count(*) FROM (SELECT feedback_id, prediction_id, label, ts FROM sent_feedback "
                           "EXCEPT ALL SELECT feedback_id, prediction_id, label, ts FROM feedback)").fetchall()[0][0] == 0
        stored = {(ws, metric): v for ws, metric, v in con.execute(
            "SELECT window_start, metric, value FROM window_metrics WHERE model = 'tickets' "
            "AND metric IN ('volume', 'labelled', 'accuracy')").fetchall()}
    finally:
        con.close()

    # Expected per week (weeks start on Monday), counted here from what was sent.
    def week(ts: str) -> datetime:
        d = datetime.fromisoformat(ts)
        return datetime(d.year, d.month, d.day) - timedelta(days=d.weekday())

    volume = Counter(week(p["timestamp"]) for p in sent_preds)
    by_id = {p["prediction_id"]: p for p in sent_preds}
    labelled = Counter(week(by_id[f["prediction_id"]]["timestamp"]) for f in sent_fb)
    right = Counter(week(by_id[f["prediction_id"]]["timestamp"]) for f in sent_fb if f["label"] == by_id[f["prediction_id"]]["prediction"])
    assert sorted(volume) == [MONDAY, MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2)]
    for ws in volume:
        assert stored[(ws, "volume")] == volume[ws]
        assert stored[(ws, "labelled")] == labelled[ws]
        assert stored[(ws, "accuracy")] == pytest.approx(right[ws] / labelled[ws], abs=1e-12)

    print(f"\ncrash-server: {len(sent_preds)} predictions + {len(sent_fb)} feedback in {len(pred_batches) + len(fb_batches)} batches; "
          f"{len(kills)} SIGKILLs after {kills} acknowledged batches; failed sends {dict(run.failures)}; "
          f"{cut_off} cut off mid-request; {run.retried_batches} batches retried; "
          f"{committed_unacked} rows committed but unacknowledged came back as duplicates; "
          f"8 acknowledged batches sent again: all duplicates; {timing}")
