"""SIGKILL a reviewer process mid-queue: no decision lost, none applied twice, dead claims come back.

A child process works through the review queue as one reviewer who always holds the next item
before deciding the current one (so a claim is open whenever it is killed). It decides each
item as a seeded plan says (accept, or correct with another label) and prints each decision
once ``decide`` has returned. The parent kills it with SIGKILL at a seeded point, then checks
with SQL on the store: every reported decision is stored with its expert feedback exactly once;
no item has two decisions; the claims of the dead process still hold their items until the
lease ends and return to the queue after it (time is moved with the queue's clock, not waited
for); replaying the reported decisions adds nothing. A second child then finishes the queue:
exactly one decision and one expert label per item, each as the plan says.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import yaml

from modelsteward.monitor import Monitor

SEED = 11_26
N_ITEMS = 80
LEASE = "1m"  # the shortest a duration allows; the test moves the queue clock instead of waiting
REVIEWER = "bot"

CHILD = r"""
import json, sys
from modelsteward.monitor import Monitor

config, plan, reviewer = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
with Monitor(config) as mon:
    queue = mon.review_queue()
    held = queue.claim(reviewer)
    while held is not None:
        following = queue.claim(reviewer)  # hold the next one before deciding this one
        decision, label = plan[held.prediction_id]
        d = queue.decide(held.item_id, reviewer, decision, label=label)
        print("DECIDED", json.dumps({"item_id": d.item_id, "prediction_id": d.prediction_id, "decision": d.decision,
                                     "label": d.label, "decision_id": d.decision_id, "feedback_id": d.feedback_id}), flush=True)
        held = following
print("DONE", flush=True)
"""


def run_child(config: Path, plan_file: Path, kill_after_decisions: int | None) -> tuple[list[dict], int]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(config), str(plan_file), REVIEWER],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.strip())
        if kill_after_decisions is not None and sum(x.startswith("DECIDED") for x in lines) >= kill_after_decisions:
            proc.send_signal(signal.SIGKILL)
            break
    lines += [x.strip() for x in proc.stdout]
    code = proc.wait(timeout=120)
    assert proc.stderr is not None
    if kill_after_decisions is None:
        assert code == 0, proc.stderr.read()
    decided = [json.loads(x.split(" ", 1)[1]) for x in lines if x.startswith("DECIDED")]
    return decided, code


def test_a_killed_reviewer_loses_no_decision_and_applies_none_twice(tmp_path: Path, model_dict):
    store = tmp_path / "steward.duckdb"
    config = tmp_path / "steward.yaml"
    model = model_dict(review={"conditions": [{"kind": "confidence_below", "threshold": 0.7}], "lease": LEASE})
    config.write_text(yaml.safe_dump({"store": str(store), "models": [model]}), encoding="utf-8")
    rng = np.random.default_rng(SEED)
    plan: dict[str, tuple[str, str | None]] = {}
    with Monitor(config) as mon:
        for i in range(N_ITEMS):
            pid, suggestion = f"r-{i}", ["urgent", "routine"][i % 2]
            mon.log_prediction(prediction_id=pid, prediction=suggestion, confidence=0.55, features={"category": "web", "length": 10.0})
            assert mon.route(pid).to_human
            plan[pid] = ("accept", None) if rng.random() < 0.6 else ("correct", "routine" if suggestion == "urgent" else "urgent")
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    expected_label = {pid: label or ["urgent", "routine"][int(pid[2:]) % 2] for pid, (_, label) in plan.items()}

    kill_after = int(rng.integers(N_ITEMS // 5, N_ITEMS * 3 // 5))
    reported, code = run_child(config, plan_file, kill_after)
    assert code == -signal.SIGKILL and kill_after <= len(reported) < N_ITEMS

    con = duckdb.connect(str(store), read_only=True)
    try:
        decisions = {r[0]: r[1:] for r in con.execute(
            "SELECT decision_id, item_id, prediction_id, decision, label, feedback_id FROM review_decisions").fetchall()}
        per_item = con.execute("SELECT item_id, count(*) FROM review_decisions GROUP BY 1 HAVING count(*) > 1").fetchall()
        expert = dict(con.execute("SELECT feedback_id, count(*) FROM feedback WHERE kind = 'expert' GROUP BY 1").fetchall())
        expert_labels = dict(con.execute("SELECT feedback_id, label FROM feedback WHERE kind = 'expert'").fetchall())
        held = con.execute("SELECT item_id, lease_until FROM review_items WHERE state = 'in_review' AND holder = ?",
                           [REVIEWER]).fetchall()
    finally:
        con.close()
    # No decision lost: each reported one is stored as reported, with its expert label exactly once.
    for d in reported:
        assert decisions[d["decision_id"]] == (d["item_id"], d["prediction_id"], d["decision"], d["label"], d["feedback_id"])
        assert expert[d["feedback_id"]] == 1 and expert_labels[d["feedback_id"]] == expected_label[d["prediction_id"]]
    assert per_item == []  # none applied twice
    # The dead reviewer still holds what it claimed and did not decide (at least the item it held ahead).
    held_ids = {item for item, _ in held}
    assert held_ids and held_ids.isdisjoint(d["item_id"] for d in reported)

    with Monitor(config) as mon:
        earliest = min(lease for _, lease in held)
        latest = max(lease for _, lease in held)
        before = mon.review_queue(clock=lambda: earliest - timedelta(milliseconds=1))
        assert before.expire_leases() == 0  # within the lease the claim stands, holder dead or not
        after = mon.review_queue(clock=lambda: latest + timedelta(milliseconds=1))
        assert after.expire_leases() == len(held_ids)
        assert {i.item_id for i in after.items(state="pending")} >= held_ids
        # A retry of a reported decision (its answer lost) is answered from the store; nothing is added.
        queue = mon.review_queue()
        for d in reported:
            decision, label = plan[d["prediction_id"]]
            again = queue.decide(d["item_id"], REVIEWER, decision, label=label)
            assert again.replayed and again.decision_id == d["decision_id"]
        n_decisions = len(queue.decisions())
        n_expert = mon.store.query("SELECT count(*) FROM feedback WHERE kind = 'expert'")[0][0]
    assert n_decisions == len(decisions) and n_expert >= len(reported)

    finished, _ = run_child(config, plan_file, None)
    assert len(finished) == N_ITEMS - len(decisions)  # the rest, and not one item again

    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT prediction_id, count(*), any_value(decision), any_value(feedback_id) FROM review_decisions "
                           "GROUP BY 1").fetchall()
        states = con.execute("SELECT state, count(*) FROM review_items GROUP BY 1").fetchall()
        labels = con.execute("SELECT prediction_id, count(*), any_value(label), any_value(feedback_id) FROM feedback "
                             "WHERE kind = 'expert' GROUP BY 1").fetchall()
        claims = dict(con.execute("SELECT outcome, count(*) FROM review_claims GROUP BY 1").fetchall())
    finally:
        con.close()
    assert states == [("decided", N_ITEMS)]
    assert sorted((pid, n, what) for pid, n, what, _ in rows) == sorted((pid, 1, plan[pid][0]) for pid in plan)
    by_decision = {pid: fid for pid, _, _, fid in rows}
    assert sorted((pid, n, label, fid) for pid, n, label, fid in labels) == sorted(
        (pid, 1, expected_label[pid], by_decision[pid]) for pid in plan)
    assert claims == {"decided": N_ITEMS, "expired": len(held_ids)}
    print(f"\ncrash-review: {N_ITEMS} items, killed after {len(reported)} reported decisions ({len(decisions)} stored), "
          f"{len(held_ids)} claim(s) of the dead process expired after the {LEASE} lease, {len(finished)} decided by the rerun")
