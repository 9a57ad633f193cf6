"""Monitor.route: the fast path, stored predictions, disagreement from the store, shadow mode, dry run."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from modelsteward.errors import NotFoundError
from modelsteward.monitor import Monitor

from .conftest import START


def test_fast_path_decides_without_the_store_and_enqueues_once(make_monitor: Callable[..., Monitor]) -> None:
    mon = make_monitor()
    d = mon.route("x-1", prediction="billing", confidence=0.4, attributes={"tier": "gold"})
    assert d.to_human and d.priority == "high" and [r.name for r in d.reasons] == ["confidence_below", "vip"]
    again = mon.route("x-1", prediction="billing", confidence=0.4, attributes={"tier": "gold"})
    assert again.item_id == d.item_id
    assert mon.store.query("SELECT count(*) FROM review_items")[0][0] == 1
    auto = mon.route("x-2", prediction="billing", confidence=0.95)
    assert not auto.to_human and auto.item_id is None and auto.route == "automatic"
    nothing = mon.route("x-3", prediction="billing", confidence=0.1, enqueue=False)
    assert nothing.to_human and nothing.item_id is None
    assert mon.store.query("SELECT count(*) FROM review_items")[0][0] == 1


def test_a_logged_prediction_is_routed_by_id(make_monitor: Callable[..., Monitor]) -> None:
    mon = make_monitor()
    mon.log_prediction(prediction_id="p", prediction="account", confidence=0.9, attributes={"tier": "gold"},
                       features={"category": "login", "length": 3.0})
    d = mon.route("p")
    assert d.to_human and [r.name for r in d.reasons] == ["vip"]
    item = mon.review_queue().item(d.item_id)
    assert item.input["features"] == {"category": "login", "length": 3.0} and item.suggestion == "account"
    with pytest.raises(NotFoundError, match="has no prediction 'nope'"):
        mon.route("nope")


def test_shadow_mode_decides_but_queues_nothing(make_monitor: Callable[..., Monitor]) -> None:
    mon = make_monitor({"enabled": False})
    d = mon.route("x", prediction="billing", confidence=0.3)
    assert d.to_human and d.item_id is None
    assert mon.store.query("SELECT count(*) FROM review_items")[0][0] == 0


DISAGREE = {"conditions": [{"kind": "disagreement", "champion": "v1", "challengers": ["v2"], "margin": 0.3}]}


def test_disagreement_reads_the_challengers_logged_for_the_same_input(make_monitor: Callable[..., Monitor]) -> None:
    mon = make_monitor(DISAGREE)
    rows = [("c1", "v1", "billing", 0.9, "in-1"), ("s1", "v2", "technical", 0.8, "in-1"),  # labels differ
            ("c2", "v1", "billing", 0.9, "in-2"), ("s2", "v2", "billing", 0.5, "in-2"),  # confidence differs by 0.4
            ("c3", "v1", "billing", 0.9, "in-3"), ("s3", "v2", "billing", 0.8, "in-3"),  # agree
            ("c4", "v1", "billing", 0.9, "in-4")]  # no challenger logged
    for pid, version, pred, conf, key in rows:
        mon.log_prediction(prediction_id=pid, model_version=version, prediction=pred, confidence=conf, attributes={"input_id": key})
    routed = {pid: mon.route(pid).to_human for pid, *_ in rows if pid.startswith("c")}
    assert routed == {"c1": True, "c2": True, "c3": False, "c4": False}
    assert "v2 says 'technical'" in mon.route("c1", enqueue=False).reasons[0].detail


def test_dry_run_equals_routing_each_prediction(make_monitor: Callable[..., Monitor]) -> None:
    review = {"conditions": [{"kind": "confidence_below", "threshold": 0.7},
                             {"kind": "risk", "name": "sensitive",
                              "where": [{"field": "features.category", "op": "in", "value": ["legal"]}]},
                             {"kind": "audit_sample", "percent": 5}],
              "when": "any"}
    mon = make_monitor(review)
    rng = np.random.default_rng(11)
    n = 3000
    conf = rng.uniform(0.3, 1.0, n).round(4)
    cats = rng.choice(["legal", "invoice", "login"], n, p=[0.1, 0.6, 0.3])
    ids = [f"q-{i:05d}" for i in range(n)]
    mon.log_predictions([{"prediction_id": pid, "prediction": "billing", "confidence": float(c), "features": {"category": str(k)},
                          "timestamp": START + timedelta(minutes=i)} for i, (pid, c, k) in enumerate(zip(ids, conf, cats, strict=True))])
    from modelsteward.review.dryrun import dry_run

    report = dry_run(mon.store, mon.model())
    # independent computation of each condition
    audit = np.array([int.from_bytes(hashlib.blake2b(p.encode(), digest_size=8, key=b"tickets").digest(), "big") / 2**64 < 0.05
                      for p in ids])
    low, sensitive = conf < 0.7, cats == "legal"
    routed = low | sensitive | audit
    assert (report.total, report.routed) == (n, int(routed.sum()))
    assert report.by_reason["confidence_below"]["routed"] == int(low.sum())
    assert report.by_reason["sensitive"]["routed"] == int(sensitive.sum())
    assert report.by_reason["audit_sample"]["routed"] == int(audit.sum())
    assert report.by_reason["audit_sample"]["only"] == int((audit & ~low & ~sensitive).sum())
    assert report.share == pytest.approx(routed.mean())
    # and the same as Monitor.route, one by one, over a part of the period
    part = dry_run(mon.store, mon.model(), start=START, end=START + timedelta(minutes=300))
    assert part.routed == sum(mon.route(p, enqueue=False).to_human for p in ids[:300])
    assert mon.store.query("SELECT count(*) FROM review_items")[0][0] == 0  # a dry run writes nothing


def test_dry_run_of_another_policy_and_without_shadow_traffic(make_monitor: Callable[..., Monitor]) -> None:
    from modelsteward.config import ReviewSettings
    from modelsteward.review.dryrun import dry_run

    mon = make_monitor(DISAGREE)
    for i in range(10):
        mon.log_prediction(prediction_id=f"c{i}", model_version="v1", prediction="billing", confidence=0.9,
                           attributes={"input_id": f"in-{i}"})
        mon.log_prediction(prediction_id=f"s{i}", model_version="v2", prediction="technical" if i < 3 else "billing",
                           confidence=0.85, attributes={"input_id": f"in-{i}"})
    report = dry_run(mon.store, mon.model())
    assert (report.total, report.routed, report.excluded_shadow) == (10, 3, 10)
    stricter = ReviewSettings.model_validate({"conditions": [{"kind": "confidence_below", "threshold": 0.95}]})
    other: Any = dry_run(mon.store, mon.model(), stricter)
    assert (other.total, other.routed) == (20, 20)
