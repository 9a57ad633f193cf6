"""Latency of ``Monitor.route`` (the request-path routing decision) against plain Python.

The policy is the course document's: confidence below 0.7, risk (a high-value customer tier,
or a sensitive topic in a list), and a 5% audit sample; every condition is evaluated on every
call and every matching reason recorded. Three figures:

1. ``Monitor.route(..., enqueue=False)``: the decision alone (what the target applies to:
   p99 under 1 ms in-process);
2. the baseline: a hand-written function evaluating the same three conditions over a dict
   (``conf < 0.7``, ``tier in {...} or topic in {...}``, a BLAKE2b hash of the id), returning
   the list of reasons; the cheapest way to get the same answer in Python;
3. ``Monitor.route`` with the queue write, over a DuckDB file: routed predictions also become
   review items (one durable transaction each); the others cost what (1) costs. Its baseline
   is one autocommitted keyed ``INSERT`` of each routed row's JSON into a plain DuckDB file.

Prints p50/p90/p99 (ms) and calls per second; checks that the library and the baseline agree
on every call. Never asserts on time.

    .venv/bin/python benchmarks/bench_route.py [--calls 20000] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from modelsteward import Monitor, StewardConfig

TIERS = ["bronze", "silver", "gold", "platinum"]
TOPICS = ["billing", "login", "legal", "outage", "refund", "other"]
SENSITIVE = {"legal", "refund"}
HIGH_VALUE = {"gold", "platinum"}


def config() -> StewardConfig:
    return StewardConfig.model_validate({"models": [{
        "name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
        "features": [{"name": "topic", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "review": {"conditions": [
            {"kind": "confidence_below", "threshold": 0.7},
            {"kind": "risk", "name": "high_value", "where": [{"field": "attributes.tier", "op": "in", "value": sorted(HIGH_VALUE)}]},
            {"kind": "risk", "name": "sensitive_topic", "where": [{"field": "features.topic", "op": "in", "value": sorted(SENSITIVE)}]},
            {"kind": "audit_sample", "percent": 5},
        ]},
    }]})


def baseline(pid: str, conf: float, attributes: dict[str, Any], features: dict[str, Any]) -> list[str]:
    reasons = []
    if conf < 0.7:
        reasons.append("confidence_below")
    if attributes.get("tier") in HIGH_VALUE:
        reasons.append("high_value")
    if features.get("topic") in SENSITIVE:
        reasons.append("sensitive_topic")
    if int.from_bytes(hashlib.blake2b(pid.encode(), digest_size=8, key=b"tickets").digest(), "big") / 2**64 < 0.05:
        reasons.append("audit_sample")
    return reasons


def summary(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "calls_per_s": float(len(ms) / (ms.sum() / 1000))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--queued-calls", type=int, default=2_000, help="calls of the variant that writes review items")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    calls = [{
        "prediction_id": f"t-{i}", "prediction": "urgent" if rng.random() < 0.4 else "routine",
        "confidence": float(rng.beta(6, 1.2)), "attributes": {"tier": str(rng.choice(TIERS, p=[0.55, 0.33, 0.1, 0.02])), "region": "eu"},
        "features": {"topic": str(rng.choice(TOPICS, p=[0.3, 0.25, 0.05, 0.15, 0.05, 0.2])), "length": float(rng.integers(10, 500))},
    } for i in range(args.calls)]
    lib: list[float] = []
    base: list[float] = []
    routed = 0
    with Monitor(config(), store=":memory:") as mon:
        for c in calls[:500]:  # warm-up: compile the policy, first-call costs
            mon.route(**c, enqueue=False)
        for c in calls:
            t = time.perf_counter()
            d = mon.route(**c, enqueue=False)
            lib.append(time.perf_counter() - t)
            t = time.perf_counter()
            expected = baseline(c["prediction_id"], c["confidence"], c["attributes"], c["features"])
            base.append(time.perf_counter() - t)
            if [r.name for r in d.reasons] != expected:
                sys.exit(f"mismatch on {c['prediction_id']}: {[r.name for r in d.reasons]} != {expected}")
            routed += d.to_human
    queued: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Monitor(config(), store=Path(tmp) / "route.duckdb") as mon:
        for c in calls[: args.queued_calls]:
            t = time.perf_counter()
            d = mon.route(**c)
            elapsed = time.perf_counter() - t
            if d.to_human:
                queued.append(elapsed)
        items = mon.store.query("SELECT count(*) FROM review_items")[0][0]
        # baseline of the write: the same rows' JSON in one autocommitted keyed INSERT into a plain DuckDB file
        con = duckdb.connect(str(Path(tmp) / "baseline.duckdb"))
        con.execute("CREATE TABLE items (item_id VARCHAR PRIMARY KEY, body VARCHAR, routed_at TIMESTAMP)")
        raw: list[float] = []
        for c in calls[: args.queued_calls]:
            if not baseline(c["prediction_id"], c["confidence"], c["attributes"], c["features"]):
                continue
            body = json.dumps(c, sort_keys=True)
            t = time.perf_counter()
            con.execute("INSERT INTO items VALUES (?, ?, now())", [c["prediction_id"], body]).fetchall()
            raw.append(time.perf_counter() - t)
        con.close()
    result = {"calls": args.calls, "routed_share": routed / args.calls, "route": summary(lib), "baseline": summary(base),
              "route_with_queue_write": {**summary(queued), "calls": len(queued), "items_written": int(items)},
              "baseline_insert_of_routed": {**summary(raw), "calls": len(raw)},
              "ratio_p50": float(np.percentile(lib, 50) / np.percentile(base, 50)),
              "ratio_p99": float(np.percentile(lib, 99) / np.percentile(base, 99))}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.calls:,} calls, {routed / args.calls:.1%} routed to people (reasons identical to the baseline on every call)")
    print(f"{'(milliseconds)':38} {'p50':>9} {'p90':>9} {'p99':>9} {'calls/s':>10}")
    for name, s in (("Monitor.route (decision)", result["route"]), ("baseline: plain-dict evaluation", result["baseline"]),
                    (f"Monitor.route + queue write ({len(queued):,} routed)", result["route_with_queue_write"]),
                    (f"baseline: keyed INSERT ({len(raw):,} routed)", result["baseline_insert_of_routed"])):
        print(f"{name:38} {s['p50_ms']:9.4f} {s['p90_ms']:9.4f} {s['p99_ms']:9.4f} {s['calls_per_s']:10,.0f}")
    print(f"decision against its baseline: p50 {result['ratio_p50']:.1f}x, p99 {result['ratio_p99']:.1f}x; "
          f"target p99 < 1 ms: {'met' if result['route']['p99_ms'] < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
