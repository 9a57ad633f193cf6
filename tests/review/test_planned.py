"""The expert-review plan in the review queue: items against a plan computed in Python, once each, decided as expert feedback."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.config import StewardConfig
from modelsteward.errors import ConfigError
from modelsteward.feedback.sampling import expert_review_plan
from modelsteward.monitor import Monitor
from modelsteward.review.planned import enqueue_expert_sample

from .conftest import review_config

WEEK0 = datetime(2026, 3, 2)  # a Monday
ROUTED = datetime(2026, 3, 9, 8, 0)
LABELS = ["billing", "technical", "account"]
PLAN = {"weekly_sample": 12, "high_confidence": 0.85, "seed": 4}
# Routing by the policy only for confidence below 0.3: the sample's items come from the plan alone unless a test routes one.
REVIEW = {"conditions": [{"kind": "confidence_below", "threshold": 0.3}], "sla": {"medium": "4h", "high": "1h"}}


def traffic(seed: int = 11, n: int = 160) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Two weeks of predictions with features and attributes, and feedback, some contradicting."""
    rng = np.random.default_rng(seed)
    preds, fbs = [], []
    for i in range(n):
        ts = WEEK0 + timedelta(seconds=int(rng.integers(0, 14 * 86400)))
        pred = str(rng.choice(LABELS))
        preds.append({"prediction_id": f"p{i:03d}", "timestamp": ts, "prediction": pred,
                      "confidence": round(float(rng.uniform(0.4, 1.0)), 4),
                      "features": {"category": str(rng.choice(["invoice", "login", "refund"])), "length": float(rng.integers(1, 500))},
                      "attributes": {"tier": str(rng.choice(["gold", "silver"]))}, "model_version": f"v{1 + i % 2}"})
        u = rng.random()
        other = str(rng.choice([x for x in LABELS if x != pred]))
        if u < 0.25:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "explicit", "label": other, "timestamp": ts + timedelta(minutes=5)})
        elif u < 0.35:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "implicit", "action": str(rng.choice(["modified", "rejected"])),
                        "timestamp": ts + timedelta(minutes=2)})
        elif u < 0.6:
            fbs.append({"prediction_id": f"p{i:03d}", "kind": "explicit", "label": pred, "timestamp": ts + timedelta(minutes=5)})
    return preds, fbs


def expected_plan(preds: list[dict[str, Any]], fbs: list[dict[str, Any]], start: datetime) -> dict[str, tuple[str, str | None]]:
    """The week's plan by hand: ``{prediction_id: (reason, evidence)}``, over every prediction of the week."""
    week = [p for p in preds if start <= p["timestamp"] < start + timedelta(weeks=1)]
    by_id = {p["prediction_id"]: p for p in preds}
    evidence: dict[str, tuple[datetime, str]] = {}
    for f in fbs:
        p = by_id[f["prediction_id"]]
        if f["kind"] in ("explicit", "outcome") and f.get("label") is not None and f["label"] != p["prediction"]:
            what = f"{f['kind']} label {f['label']}"
        elif f["kind"] == "implicit" and f["action"] in ("modified", "rejected"):
            what = f"implicit {f['action']}"
        else:
            continue
        if f["prediction_id"] not in evidence or f["timestamp"] > evidence[f["prediction_id"]][0]:
            evidence[f["prediction_id"]] = (f["timestamp"], what)
    out: dict[str, tuple[str, str | None]] = {
        p["prediction_id"]: ("high_confidence_error", evidence[p["prediction_id"]][1])
        for p in week if p["confidence"] >= PLAN["high_confidence"] and p["prediction_id"] in evidence}
    keyed = sorted((p["prediction_id"] for p in week),
                   key=lambda pid: (hashlib.md5(f"{PLAN['seed']}:{pid}".encode()).hexdigest(), pid))
    for pid in keyed[:PLAN["weekly_sample"]]:
        out.setdefault(pid, ("expert_sample", None))
    return out


@pytest.fixture
def planned(open_monitor: Callable[..., Monitor]) -> tuple[Monitor, list[dict[str, Any]], list[dict[str, Any]]]:
    mon = open_monitor(review_config(REVIEW, feedback={"expert_review": PLAN}))
    preds, fbs = traffic()
    mon.log_predictions(preds)
    mon.log_feedbacks(fbs)
    return mon, preds, fbs


def test_items_are_the_weeks_plan_with_reasons_priorities_slas_and_the_logged_input(planned: Any) -> None:
    mon, preds, fbs = planned
    expected = expected_plan(preds, fbs, WEEK0)
    errors = [pid for pid, (why, _) in expected.items() if why == "high_confidence_error"]
    assert len(errors) >= 3 and len(expected) - len(errors) >= 8  # both parts of the plan are exercised

    done = enqueue_expert_sample(mon, week_start=WEEK0 + timedelta(days=4), routed_at=ROUTED)  # any day of the week
    assert done.week_start == WEEK0
    items = {i.prediction_id: i for i in mon.review_queue().items()}
    assert set(items) == set(expected)
    assert sorted(done.created) == sorted(i.item_id for i in items.values()) and not done.already_queued
    # Nobody has reviewed this week yet: the items are also exactly the feedback module's plan.
    assert {r["prediction_id"] for r in expert_review_plan(mon.store, mon.model(), WEEK0)} == set(items)

    by_id = {p["prediction_id"]: p for p in preds}
    for pid, item in items.items():
        why, evidence = expected[pid]
        logged = by_id[pid]
        assert [r["name"] for r in item.reasons] == [why]
        assert (item.suggestion, item.confidence, item.model_version) == (
            logged["prediction"], logged["confidence"], logged["model_version"])
        assert item.input["features"] == logged["features"] and item.input["attributes"] == logged["attributes"]
        assert item.routed_at == ROUTED and item.state == "pending" and item.queue == "default"
        if why == "high_confidence_error":
            assert item.priority == "medium" and item.due_at == ROUTED + timedelta(hours=4)  # review.sla.medium
            assert item.reasons[0]["detail"].endswith(f"feedback contradicts it: {evidence}")
        else:
            assert item.priority == "low" and item.due_at is None  # review.sla gives low no SLA here


def test_a_second_run_adds_nothing_and_decided_items_are_not_topped_up(planned: Any) -> None:
    mon, preds, fbs = planned
    first = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED)
    again = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED + timedelta(hours=1))
    assert again.created == [] and again.item_ids == first.item_ids and sorted(again.already_queued) == sorted(first.item_ids)
    queue = mon.review_queue(clock=lambda: ROUTED + timedelta(hours=2))
    assert len(queue.items()) == len(first.item_ids)

    sampled = [i for i in queue.items() if i.reasons[0]["name"] == "expert_sample"]
    for item_id in [i.item_id for i in sampled[:5]]:  # decide five randomly sampled items
        assert queue.claim("alice", item_id=item_id) is not None
        queue.decide(item_id, "alice", "accept")
    # The feedback module's plan leaves reviewed predictions out and draws others in their place ...
    assert {r["prediction_id"] for r in expert_review_plan(mon.store, mon.model(), WEEK0)} - set(expected_plan(preds, fbs, WEEK0))
    # ... but the queued sample of the week stays the same.
    third = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED + timedelta(days=1))
    assert third.created == [] and {i.prediction_id for i in queue.items()} == set(expected_plan(preds, fbs, WEEK0))

    # A confident prediction contradicted later in the week joins as a high-confidence error, once.
    late = next(p for p in preds if WEEK0 <= p["timestamp"] < WEEK0 + timedelta(weeks=1)
                and p["confidence"] >= 0.85 and p["prediction_id"] not in expected_plan(preds, fbs, WEEK0))
    fb = {"prediction_id": late["prediction_id"], "kind": "implicit", "action": "rejected",
          "timestamp": late["timestamp"] + timedelta(hours=1)}
    mon.log_feedback(late["prediction_id"], kind="implicit", action="rejected", timestamp=fb["timestamp"])
    fourth = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED + timedelta(days=2))
    assert [queue.item(i).prediction_id for i in fourth.created] == [late["prediction_id"]]
    assert set(expected_plan(preds, [*fbs, fb], WEEK0)) == {i.prediction_id for i in queue.items()}
    assert enqueue_expert_sample(mon, week_start=WEEK0).created == []


def test_decisions_on_planned_items_land_as_expert_feedback(planned: Any) -> None:
    mon, _, _ = planned
    done = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED)
    queue = mon.review_queue(clock=lambda: ROUTED + timedelta(minutes=30))
    decided: dict[str, str] = {}
    for k in range(4):
        item = queue.claim("bob")
        assert item is not None and item.item_id in done.item_ids
        if k % 2:
            label = next(x for x in LABELS if x != item.suggestion)
            queue.decide(item.item_id, "bob", "correct", label=label)
        else:
            label = str(item.suggestion)
            queue.decide(item.item_id, "bob", "accept")
        decided[item.prediction_id] = label
    rows = mon.store.query("SELECT prediction_id, label, reviewer FROM feedback WHERE model = ? AND kind = 'expert'", ["tickets"])
    assert {pid: (label, who) for pid, label, who in rows} == {pid: (label, "bob") for pid, label in decided.items()}


def test_predictions_routed_before_or_reviewed_elsewhere_are_not_queued_twice(planned: Any) -> None:
    mon, preds, fbs = planned
    sample = [pid for pid, (why, _) in expected_plan(preds, fbs, WEEK0).items() if why == "expert_sample"]
    routed, reviewed = sample[0], sample[1]
    # The policy routes `routed` (its logged confidence given as 0.2), before the plan runs.
    decision = mon.route(routed, prediction="billing", confidence=0.2, routed_at=ROUTED - timedelta(days=1))
    assert decision.item_id is not None
    mon.log_feedback(reviewed, kind="expert", label="billing", reviewer="carol")
    done = enqueue_expert_sample(mon, week_start=WEEK0, routed_at=ROUTED)
    assert done.already_queued == [decision.item_id] and done.reviewed == [reviewed]
    items = {i.prediction_id: i for i in mon.review_queue().items()}
    assert reviewed not in items
    assert [r["name"] for r in items[routed].reasons] == ["confidence_below"]  # the routed item stands as it was
    assert len(items) == len(expected_plan(preds, fbs, WEEK0)) - 1


def test_a_model_without_review_section_is_refused_with_what_to_add(open_monitor: Callable[..., Monitor]) -> None:
    cfg = review_config(REVIEW).model_dump(mode="json", by_alias=True, exclude_none=True)
    del cfg["models"][0]["review"]
    mon = open_monitor(StewardConfig.model_validate(cfg))
    with pytest.raises(ConfigError) as exc:
        enqueue_expert_sample(mon, week_start=WEEK0)
    assert exc.value.path == "models[tickets].review" and "review:" in str(exc.value.hint)


def _cli_setup(tmp_path: Path, review: dict[str, Any] | None) -> str:
    cfg = review_config(review, feedback={"expert_review": PLAN}).model_dump(mode="json", by_alias=True, exclude_none=True)
    cfg["store"] = str(tmp_path / "steward.duckdb")
    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump(cfg))
    preds, fbs = traffic()
    with Monitor(path) as mon:
        mon.log_predictions(preds)
        mon.log_feedbacks(fbs)
    return str(path)


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_sample_enqueue(tmp_path: Path) -> None:
    cfg = _cli_setup(tmp_path, REVIEW)
    preds, fbs = traffic()
    expected = expected_plan(preds, fbs, WEEK0 + timedelta(weeks=1))
    listed = run("feedback", "sample", "-c", cfg, "--week", "2026-03-11", "--json")  # listing queues nothing
    assert listed.exit_code == 0 and json.loads(run("review", "list", "-c", cfg, "--json").output) == []

    res = run("feedback", "sample", "-c", cfg, "--week", "2026-03-11", "--enqueue", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["week_start"].startswith("2026-03-09") and len(doc["created"]) == len(expected)
    queued = json.loads(run("review", "list", "-c", cfg, "--json").output)
    assert {(i["prediction_id"], i["reasons"][0]["name"]) for i in queued} == {(pid, why) for pid, (why, _) in expected.items()}

    again = json.loads(run("feedback", "sample", "-c", cfg, "--week", "2026-03-09", "--enqueue", "--json").output)
    assert again["created"] == [] and sorted(again["already_queued"]) == sorted(doc["created"])
    human = run("feedback", "sample", "-c", cfg, "--week", "2026-03-09", "--enqueue")
    assert human.exit_code == 0 and f"0 new review item(s), {len(expected)} queued before" in human.output


def test_cli_sample_enqueue_without_review_section(tmp_path: Path) -> None:
    cfg = _cli_setup(tmp_path, None)
    text = Path(cfg).read_text()
    data = yaml.safe_load(text)
    del data["models"][0]["review"]
    Path(cfg).write_text(yaml.safe_dump(data))
    res = run("feedback", "sample", "-c", cfg, "--week", "2026-03-02", "--enqueue", "--json")
    assert res.exit_code == 2
    err = json.loads(res.output)
    assert err["ok"] is False and err["path"] == "models[tickets].review" and "review:" in err["hint"]
