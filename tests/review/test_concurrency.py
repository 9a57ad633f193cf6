"""Two reviewers never hold the same item: real processes on one DuckDB file, and threads on one Monitor.

DuckDB admits one process at a time to a file; the workers take turns through
``open_monitor`` (which waits while another process holds the file), each turn one claim
(and one decision). The claims themselves are single ``UPDATE ... WHERE state = 'pending'``
statements in a transaction. The tests check the outcome from the store afterwards.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.review.locking import open_monitor

from .conftest import review_config

WORKERS = 3
ITEMS = 12


def _config_dict(lease: str) -> dict[str, Any]:
    cfg = review_config({"conditions": [{"kind": "confidence_below"}], "lease": lease})
    return cfg.model_dump(mode="json", by_alias=True)


def _worker(path: str, config: dict[str, Any], name: str, results: Any) -> None:
    """Claim until the queue is empty; decide the items of even predictions, keep holding the others."""
    cfg = StewardConfig.model_validate(config)
    claimed: list[str] = []
    while True:
        with open_monitor(cfg, path, timeout=120) as mon:
            queue = mon.review_queue()
            item = queue.claim(name)
            if item is None:
                break
            claimed.append(item.item_id)
            if int(item.prediction_id.split("-")[1]) % 2 == 0:
                queue.decide(item.item_id, name, "correct", label="technical")
    results.put((name, claimed))


def _fill(path: Path, config: dict[str, Any]) -> list[str]:
    with Monitor(StewardConfig.model_validate(config), store=path) as mon:
        mon.log_predictions([{"prediction_id": f"t-{i}", "prediction": "billing", "confidence": 0.5} for i in range(ITEMS)])
        return [mon.route(f"t-{i}").item_id for i in range(ITEMS)]  # type: ignore[misc]


def _run(path: Path, config: dict[str, Any]) -> dict[str, list[str]]:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(path), config, f"reviewer-{k}", results)) for k in range(WORKERS)]
    for p in procs:
        p.start()
    out = dict(results.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return out


def test_processes_never_hold_the_same_item(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    config = _config_dict(lease="1h")  # long enough that no lease ends during the test
    items = _fill(path, config)
    claimed = _run(path, config)
    every = [i for got in claimed.values() for i in got]
    assert Counter(every) == Counter(items)  # each item claimed exactly once, none left behind
    with Monitor(StewardConfig.model_validate(config), store=path) as mon:
        per_item = dict(mon.store.query("SELECT item_id, count(*) FROM review_claims GROUP BY 1"))
        assert per_item == dict.fromkeys(items, 1)
        holders = dict(mon.store.query("SELECT item_id, reviewer FROM review_claims"))
        assert holders == {i: name for name, got in claimed.items() for i in got}
        even = ITEMS // 2 + ITEMS % 2
        assert mon.store.query("SELECT count(*), count(DISTINCT prediction_id) FROM feedback WHERE kind = 'expert'")[0] == (even, even)
        assert dict(mon.store.query("SELECT state, count(*) FROM review_items GROUP BY 1")) == {"decided": even, "in_review": ITEMS - even}
        held = dict(mon.store.query("SELECT item_id, holder FROM review_items WHERE state = 'in_review'"))
        assert all(holders[i] == who for i, who in held.items())


def test_threads_sharing_one_monitor_never_hold_the_same_item(open_monitor: Callable[..., Monitor]) -> None:
    mon = open_monitor(review_config({"conditions": [{"kind": "confidence_below"}], "lease": "1h"}))
    mon.log_predictions([{"prediction_id": f"t-{i}", "prediction": "billing", "confidence": 0.5} for i in range(ITEMS)])
    for i in range(ITEMS):
        mon.route(f"t-{i}")
    queue = mon.review_queue()
    got: dict[str, list[str]] = {f"r{k}": [] for k in range(6)}
    start = threading.Barrier(len(got))

    def work(name: str) -> None:
        start.wait()
        while (item := queue.claim(name)) is not None:
            got[name].append(item.item_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in got.values() for i in ids]
    assert len(every) == ITEMS == len(set(every))
