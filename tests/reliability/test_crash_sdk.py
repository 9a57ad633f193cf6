"""SIGKILL a process logging through the SDK into the embedded store; reopen; retry the same input.

A child process logs a seeded stream of predictions and feedback with ``Monitor`` (single calls
and small batches) and prints each id once the call has returned (flushed), so every printed
id is acknowledged. The parent kills it with SIGKILL at seeded points, then reads the store
file with plain DuckDB SQL: every acknowledged id is there exactly once with the content sent.
Each restart runs the child over the whole input again, as a client retrying would; the final,
uninterrupted run leaves exactly one row per input record.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import yaml

SEED = 7_2026
N_SINGLE, N_BATCHES, BATCH = 150, 40, 25  # 150 + 1,000 predictions
N_FEEDBACK = 300  # every third one as part of a batch of feedback
KILLS = 2

CHILD = r"""
import json, sys
from modelsteward.monitor import Monitor

config, events = sys.argv[1], json.load(open(sys.argv[2]))
with Monitor(config) as mon:
    for kind, payload in events:
        if kind == "prediction":
            print("P", mon.log_prediction(**payload), flush=True)
        elif kind == "predictions":
            mon.log_predictions(payload)
            print("\n".join("P " + r["prediction_id"] for r in payload), flush=True)
        elif kind == "feedback":
            pid = payload.pop("prediction_id")
            print("F", mon.log_feedback(pid, **payload), flush=True)
        else:
            mon.log_feedbacks(payload)
            print("\n".join("F " + r["feedback_id"] for r in payload), flush=True)
print("DONE", flush=True)
"""


def make_events() -> tuple[list[tuple[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    rng = np.random.default_rng(SEED)
    start = datetime(2026, 5, 4)

    def pred(i: int) -> dict[str, Any]:
        return {"prediction_id": f"sdk-{i}", "prediction": ["urgent", "routine"][int(rng.integers(0, 2))],
                "confidence": round(float(rng.uniform(0.5, 1.0)), 4), "latency_ms": round(float(rng.gamma(2, 30)), 3),
                "features": {"category": ["web", "mail"][int(rng.integers(0, 2))], "length": float(rng.integers(1, 900))},
                "timestamp": (start + timedelta(minutes=int(rng.integers(0, 20_000)))).isoformat()}

    preds = [pred(i) for i in range(N_SINGLE + N_BATCHES * BATCH)]
    events: list[tuple[str, Any]] = [("prediction", p) for p in preds[:N_SINGLE]]
    events += [("predictions", preds[N_SINGLE + b * BATCH:N_SINGLE + (b + 1) * BATCH]) for b in range(N_BATCHES)]
    feedback = [{"feedback_id": f"sdk-f-{n}", "prediction_id": preds[int(k)]["prediction_id"], "kind": "explicit",
                 "label": ["urgent", "routine"][int(rng.integers(0, 2))], "timestamp": (start + timedelta(days=20, minutes=n)).isoformat()}
                for n, k in enumerate(rng.choice(len(preds), size=N_FEEDBACK, replace=False))]
    singles = [f for n, f in enumerate(feedback) if n % 3]
    grouped = [f for n, f in enumerate(feedback) if not n % 3]
    events += [("feedback", f) for f in singles]
    events += [("feedbacks", grouped[i:i + 20]) for i in range(0, len(grouped), 20)]
    order = rng.permutation(len(events))  # feedback may come before its prediction: that is allowed
    return [events[int(i)] for i in order], preds, feedback


def run_child(config: Path, events_file: Path, kill_after: int | None) -> tuple[list[str], int]:
    """Run the child; SIGKILL it once ``kill_after`` ids were acknowledged. Returns every acknowledged line and the exit code."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(events_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked: list[str] = []
    for line in proc.stdout:
        acked.append(line.strip())
        if kill_after is not None and len(acked) >= kill_after:
            proc.send_signal(signal.SIGKILL)
            break
    acked += [line.strip() for line in proc.stdout]  # printed before the kill: acknowledged too
    code = proc.wait(timeout=120)
    return [a for a in acked if a], code


def stored(store: Path) -> tuple[dict[str, int], dict[str, int]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        preds = dict(con.execute("SELECT prediction_id, count(*) FROM predictions__tickets GROUP BY 1").fetchall())
        feedback = dict(con.execute("SELECT feedback_id, count(*) FROM feedback GROUP BY 1").fetchall())
    finally:
        con.close()
    return preds, feedback


def test_acknowledged_sdk_writes_survive_sigkill_and_a_rerun_counts_each_once(tmp_path: Path, model_dict):
    events, preds, feedback = make_events()
    store = tmp_path / "steward.duckdb"
    config = tmp_path / "steward.yaml"
    config.write_text(yaml.safe_dump({"store": str(store), "models": [model_dict()]}), encoding="utf-8")
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps(events), encoding="utf-8")
    total = len(preds) + len(feedback)
    rng = np.random.default_rng(SEED + 1)
    kill_points = sorted(int(k) for k in rng.integers(total // 10, total * 8 // 10, size=KILLS))

    figures = []
    for kill_after in [*kill_points, None]:
        acked, code = run_child(config, events_file, kill_after)
        p_count, f_count = stored(store)
        # Every acknowledged id is stored, once; nothing is stored twice.
        for line in acked[:-1] if kill_after is None else acked:
            kind, rid = line.split(" ", 1)
            assert (p_count if kind == "P" else f_count).get(rid) == 1, line
        assert set(p_count.values()) <= {1} and set(f_count.values()) <= {1}
        if kill_after is None:
            assert code == 0 and acked[-1] == "DONE"
        else:
            assert code == -signal.SIGKILL
            assert len(acked) < total  # killed before the end
        figures.append((kill_after, len(acked), len(p_count) + len(f_count)))

    # After the uninterrupted rerun: exactly the input, each once, with the content sent.
    p_count, f_count = stored(store)
    assert len(p_count) == len(preds) and len(f_count) == len(feedback)
    con = duckdb.connect(str(store), read_only=True)
    try:
        con.register("sent", pa.Table.from_pylist([{"prediction_id": p["prediction_id"], "prediction": p["prediction"],
                                                    "confidence": p["confidence"], "ts": datetime.fromisoformat(p["timestamp"])}
                                                   for p in preds]))
        assert con.execute("SELECT count(*) FROM (SELECT * FROM sent EXCEPT ALL "
                           "SELECT prediction_id, prediction, confidence, ts FROM predictions__tickets)").fetchall() == [(0,)]
        con.register("sent_fb", pa.Table.from_pylist([{"feedback_id": f["feedback_id"], "prediction_id": f["prediction_id"],
                                                       "label": f["label"]} for f in feedback]))
        assert con.execute("SELECT count(*) FROM (SELECT * FROM sent_fb EXCEPT ALL "
                           "SELECT feedback_id, prediction_id, label FROM feedback)").fetchall() == [(0,)]
    finally:
        con.close()
    print(f"\ncrash-sdk: {len(preds)} predictions + {len(feedback)} feedback; runs (kill after, acknowledged, stored): {figures}")

