"""What the alerting engine adds to a monitoring pass: state machine, incidents, silences, escalation.

One model with ``--rules`` alert rules over ``--weeks`` weekly windows of seeded random values
(each rule's condition holds in about a third of the windows, in runs). Timed, in one DuckDB
file:

1. **Backfill**: the first pass takes in every window at once (a new install over old data);
   past runs are recorded as history, and only where each alert stands now opens an incident.
2. **Incremental**: one new window per pass, as a weekly ``steward check`` does; the median of
   ``--incremental`` passes.

Baseline, timed in the same run: ``evaluate_rule`` over the whole history for every rule (what
each ``Monitor.check`` computes already before the engine runs). Target: an incremental pass
costs a fixed handful of statements (three reads, four writes, in one transaction) plus under
1 ms per rule, so that from 200 rules on it costs no more than the rule evaluation it follows.
Correctness check: the notifications sent match the firing runs counted independently.

    .venv/bin/python benchmarks/bench_alerting.py            # 50 rules x 104 weeks
    .venv/bin/python benchmarks/bench_alerting.py --rules 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from modelsteward.alerts.engine import AlertEngine
from modelsteward.alerts.rules import evaluate_rule
from modelsteward.config import StewardConfig
from modelsteward.store.duckdb_store import DuckDBStore

START = datetime(2024, 1, 1)
WEEK = timedelta(weeks=1)


class Count:
    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    def submit(self, notifications) -> None:  # type: ignore[no-untyped-def]
        for n in notifications:
            self.kinds[n.kind] = self.kinds.get(n.kind, 0) + 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=50)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--incremental", type=int, default=20, help="how many of the last weeks are fed one by one")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    # a two-state Markov chain per rule: runs of holding windows, about a third of the time
    holds = np.zeros((args.rules, args.weeks), dtype=bool)
    for r in range(args.rules):
        state = False
        for w in range(args.weeks):
            state = rng.random() < (0.7 if state else 0.15)
            holds[r, w] = state
    values = np.where(holds, 0.5, 0.9)
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["a", "b"], "owner": "team",
        "features": [{"name": f"f{i}", "type": "numeric"} for i in range(args.rules)],
        "alerting": {"flapping": {"enabled": False}},
        "alerts": [{"name": f"r{i}", "metric": f"feature.f{i}.mean", "condition": {"kind": "below", "value": 0.7}}
                   for i in range(args.rules)],
    }]})
    model = cfg.models[0]
    history = [(START + w * WEEK, START + (w + 1) * WEEK, {f"feature.f{r}.mean": float(values[r, w]) for r in range(args.rules)})
               for w in range(args.weeks)]
    with tempfile.TemporaryDirectory() as tmp:
        store = DuckDBStore(Path(tmp) / "bench.duckdb")
        count = Count()
        engine = AlertEngine(store, cfg, notifier=count)
        split = args.weeks - args.incremental
        t = time.perf_counter()
        evals = [e for rule in model.alerts for e in evaluate_rule(rule, history[:split], {})]
        eval_backfill = time.perf_counter() - t
        t = time.perf_counter()
        engine.process(model, evals, now=history[split - 1][1])
        backfill = time.perf_counter() - t
        inc_times, eval_times = [], []
        for w in range(split, args.weeks):
            t = time.perf_counter()
            evals = [e for rule in model.alerts for e in evaluate_rule(rule, history[: w + 1], {})]
            eval_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            engine.process(model, evals, now=history[w][1])
            inc_times.append(time.perf_counter() - t)
        store.close()
    # independently: the first pass opens an incident where a rule holds in its last window (past
    # runs are history only); after it, each run that starts opens one, each run that ends resolves one
    inc_part = holds[:, split - 1:]
    starts = int(holds[:, split - 1].sum() + np.sum(inc_part[:, 1:] & ~inc_part[:, :-1]))
    ends = int(np.sum(inc_part[:, :-1] & ~inc_part[:, 1:]))
    assert count.kinds.get("firing", 0) == starts, (count.kinds, starts)
    assert count.kinds.get("resolved", 0) == ends, (count.kinds, ends)
    print(f"{args.rules} rules x {args.weeks} weekly windows; {starts} incidents opened, {ends} resolved (checked)")
    print(f"backfill of {split} windows:        engine {backfill * 1000:8.1f} ms   baseline evaluate_rule {eval_backfill * 1000:8.1f} ms")
    inc, base = statistics.median(inc_times), statistics.median(eval_times)
    print(f"incremental pass (median of {len(inc_times)}): engine {inc * 1000:8.1f} ms   baseline evaluate_rule {base * 1000:8.1f} ms"
          f"   ratio {inc / base:.2f}x")
    print(f"per rule, incremental: {inc / args.rules * 1000:.2f} ms")


if __name__ == "__main__":
    main()
