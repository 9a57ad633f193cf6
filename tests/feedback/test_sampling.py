"""The expert-review plan: the weekly seeded sample and the high-confidence errors, against Python."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from modelsteward.config import StewardConfig
from modelsteward.feedback.sampling import expert_review_plan, high_confidence_errors, weekly_sample
from modelsteward.monitor import Monitor

WEEK0 = datetime(2026, 1, 5)  # a Monday


@pytest.fixture
def mon(tmp_path: Path) -> Monitor:
    plan = {"weekly_sample": 20, "high_confidence": 0.85, "seed": 3}
    cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                                                    "feedback": {"expert_review": plan}}]})
    m = Monitor(cfg, store=tmp_path / "s.duckdb")
    rng = np.random.default_rng(5)
    preds, fbs = [], []
    for i in range(600):  # three weeks
        ts = WEEK0 + timedelta(seconds=int(rng.integers(0, 21 * 86400)))
        pred = str(rng.choice(["urgent", "routine"]))
        preds.append({"prediction_id": f"p{i:03d}", "timestamp": ts, "prediction": pred, "confidence": float(rng.uniform(0.4, 1.0))})
        u = rng.random()
        other = "routine" if pred == "urgent" else "urgent"
        if u < 0.2:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "explicit", "label": other, "timestamp": ts + timedelta(minutes=3)})
        elif u < 0.3:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "explicit", "label": pred, "timestamp": ts + timedelta(minutes=3)})
        elif u < 0.4:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "implicit", "action": str(rng.choice(["modified", "rejected"])),
                        "timestamp": ts + timedelta(minutes=1)})
        elif u < 0.8:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "implicit", "action": "accepted", "timestamp": ts + timedelta(minutes=1)})
        if rng.random() < 0.1:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "expert", "label": pred, "timestamp": ts + timedelta(days=2)})
    m.log_predictions(preds)
    m.log_feedbacks(fbs)
    m._test_preds, m._test_fbs = preds, fbs  # type: ignore[attr-defined]
    yield m
    m.close()


def _week(preds: list[dict], start: datetime) -> list[dict]:
    return [p for p in preds if start <= p["timestamp"] < start + timedelta(weeks=1)]


def test_weekly_sample_is_the_n_smallest_md5_keys_of_the_unreviewed_week(mon: Monitor) -> None:
    preds, fbs = mon._test_preds, mon._test_fbs  # type: ignore[attr-defined]
    reviewed = {f["prediction_id"] for f in fbs if f["kind"] == "expert"}
    for k in range(3):
        start = WEEK0 + timedelta(weeks=k)
        pool = [p["prediction_id"] for p in _week(preds, start) if p["prediction_id"] not in reviewed]
        expected = sorted(pool, key=lambda pid: hashlib.md5(f"9:{pid}".encode()).hexdigest())[:25]
        got = weekly_sample(mon.store, mon.model(), start + timedelta(days=3), n=25, seed=9)  # any day of the week
        assert [r["prediction_id"] for r in got] == expected
    all_ids = weekly_sample(mon.store, mon.model(), WEEK0, n=1000, seed=9, exclude_reviewed=False)
    assert len(all_ids) == len(_week(preds, WEEK0))
    other_seed = weekly_sample(mon.store, mon.model(), WEEK0, n=25, seed=10)
    assert {r["prediction_id"] for r in other_seed} != set(expected)


def test_weekly_sample_is_uniform_over_the_week() -> None:
    """Over many seeds, each of 40 predictions is drawn about equally often (chi-square, seeded)."""
    ids = [f"t{i}" for i in range(40)]
    counts = dict.fromkeys(ids, 0)
    for seed in range(2000):
        for pid in sorted(ids, key=lambda p: hashlib.md5(f"{seed}:{p}".encode()).hexdigest())[:5]:
            counts[pid] += 1
    assert stats.chisquare(list(counts.values())).pvalue > 0.001


def test_high_confidence_errors_are_the_contradicted_confident_predictions(mon: Monitor) -> None:
    preds, fbs = mon._test_preds, mon._test_fbs  # type: ignore[attr-defined]
    by_id = {p["prediction_id"]: p for p in preds}
    reviewed = {f["prediction_id"] for f in fbs if f["kind"] == "expert"}
    contradicted = {f["prediction_id"] for f in fbs
                    if (f["kind"] == "explicit" and f["label"] != by_id[f["prediction_id"]]["prediction"])
                    or (f["kind"] == "implicit" and f["action"] in ("modified", "rejected"))}
    for k in range(3):
        start = WEEK0 + timedelta(weeks=k)
        expected = sorted((p for p in _week(preds, start) if p["confidence"] >= 0.85 and p["prediction_id"] in contradicted
                           and p["prediction_id"] not in reviewed), key=lambda p: (-p["confidence"], p["prediction_id"]))
        got = high_confidence_errors(mon.store, mon.model(), start, min_confidence=0.85)
        assert [r["prediction_id"] for r in got] == [p["prediction_id"] for p in expected]
        assert len(expected) > 3
        top = high_confidence_errors(mon.store, mon.model(), start, min_confidence=0.85, limit=3)
        assert [r["prediction_id"] for r in top] == [p["prediction_id"] for p in expected[:3]]


def test_the_plan_lists_errors_first_then_the_sample_without_repeats(mon: Monitor) -> None:
    plan = expert_review_plan(mon.store, mon.model(), WEEK0)
    errors = high_confidence_errors(mon.store, mon.model(), WEEK0, min_confidence=0.85)
    sample = weekly_sample(mon.store, mon.model(), WEEK0, n=20, seed=3)
    ids = [r["prediction_id"] for r in plan]
    assert len(ids) == len(set(ids))
    assert ids[:len(errors)] == [r["prediction_id"] for r in errors]
    assert ids[len(errors):] == [r["prediction_id"] for r in sample if r["prediction_id"] not in set(ids[:len(errors)])]
    assert {r["reason"] for r in plan} == {"high_confidence_error", "weekly_sample"}
