"""How the review work stands: SLA and backlog per window, progress per reviewer, agreement.

Window metrics (stored with the other metrics by ``Monitor.check``, so alert rules can use
them, e.g. ``metric: review.overdue, condition: {kind: above, value: 0}``):

- ``review.routed``: items routed to people during the window;
- ``review.decided``: items that became decided during the window;
- ``review.pending``: items open (pending or in review) at the window's end;
- ``review.overdue``: those of them past their SLA at the window's end;
- ``review.hours_to_decision``: median hours from routing to decision of the decisions
  (not skips) made during the window.

>>> from datetime import datetime
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "review": {"sla": {"medium": "1h"}}}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> _ = mon.log_prediction(prediction_id="t-1", prediction="urgent", confidence=0.5)
>>> _ = mon.route("t-1", routed_at=datetime(2026, 3, 2, 9, 0))
>>> metrics = review_window_metrics(mon.store, mon.model(), datetime(2026, 3, 2), datetime(2026, 3, 3))
>>> metrics["review.routed"], metrics["review.pending"], metrics["review.overdue"]
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.review.agreement import cohen_kappa, fleiss_kappa, rating_table
from modelsteward.store.base import Store

__all__ = ["REVIEW_METRICS", "agreement", "reviewer_progress", "review_window_metrics", "queue_stats"]

REVIEW_METRICS = ("review.routed", "review.decided", "review.pending", "review.overdue", "review.hours_to_decision")
REJECTED = "<rejected>"  # how a reject counts in agreement: a category of its own


def review_window_metrics(store: Store, model: ModelConfig, start: datetime, end: datetime) -> dict[str, float | None]:
    """The review metrics of the window ``[start, end)`` (see the module's docstring)."""
    routed, decided, pending, overdue = store.query(
        """SELECT count(*) FILTER (WHERE routed_at >= ? AND routed_at < ?),
                  count(*) FILTER (WHERE state = 'decided' AND closed_at >= ? AND closed_at < ?),
                  count(*) FILTER (WHERE routed_at < ? AND (closed_at IS NULL OR closed_at >= ?)),
                  count(*) FILTER (WHERE routed_at < ? AND (closed_at IS NULL OR closed_at >= ?) AND due_at < ?)
           FROM review_items WHERE model = ?""",
        [start, end, start, end, end, end, end, end, end, model.name])[0]
    hours = store.query(
        "SELECT median(seconds_from_routing) / 3600 FROM review_decisions WHERE model = ? AND decision <> 'skip' "
        "AND decided_at >= ? AND decided_at < ?", [model.name, start, end])[0][0]
    return {"review.routed": float(routed), "review.decided": float(decided), "review.pending": float(pending),
            "review.overdue": float(overdue), "review.hours_to_decision": None if hours is None else float(hours)}


def reviewer_progress(store: Store, model: ModelConfig, now: datetime) -> list[dict[str, Any]]:
    """Per reviewer: items held now, claims, decisions by kind, expired leases, median minutes from claim to decision."""
    claims = store.query(
        "SELECT c.reviewer, count(*), count(*) FILTER (WHERE c.outcome = 'expired' OR (c.outcome IS NULL AND c.lease_until < ?)), "
        "count(*) FILTER (WHERE c.outcome IS NULL AND c.lease_until >= ?) "
        "FROM review_claims c JOIN review_items i USING (item_id) WHERE i.model = ? GROUP BY 1",
        [now, now, model.name])
    decisions = store.query(
        "SELECT reviewer, decision, count(*), median(seconds_from_claim) FROM review_decisions WHERE model = ? GROUP BY 1, 2",
        [model.name])
    medians = dict(store.query(
        "SELECT reviewer, median(seconds_from_claim) / 60 FROM review_decisions WHERE model = ? AND decision <> 'skip' GROUP BY 1",
        [model.name]))
    out: dict[str, dict[str, Any]] = {}
    for reviewer, n, expired, holding in claims:
        out[reviewer] = {"reviewer": reviewer, "holding": int(holding), "claims": int(n), "expired": int(expired),
                         "accept": 0, "correct": 0, "reject": 0, "skip": 0}
    for reviewer, decision, n, _ in decisions:
        out.setdefault(reviewer, {"reviewer": reviewer, "holding": 0, "claims": 0, "expired": 0,
                                  "accept": 0, "correct": 0, "reject": 0, "skip": 0})[decision] = int(n)
    for row in out.values():
        row["decided"] = row["accept"] + row["correct"] + row["reject"]
        row["median_minutes_to_decide"] = medians.get(row["reviewer"])
    return sorted(out.values(), key=lambda r: (-r["decided"], r["reviewer"]))


def agreement(store: Store, model: ModelConfig) -> dict[str, Any]:
    """Agreement over items decided by several reviewers: Fleiss' kappa and Cohen's kappa per pair.

    A rating is the label a reviewer gave (an accept gives the suggestion), or ``<rejected>``.
    Fleiss' kappa uses the items with the most common number of ratings (at least 2); Cohen's
    kappa is given for each pair of reviewers who rated at least 2 of the same items.
    """
    by_item: dict[str, dict[str, str]] = defaultdict(dict)
    for item_id, reviewer, decision, label in store.query(
            "SELECT item_id, reviewer, decision, label FROM review_decisions WHERE model = ? AND decision <> 'skip' ORDER BY decided_at",
            [model.name]):
        by_item[item_id][reviewer] = REJECTED if decision == "reject" else label
    multi = {k: v for k, v in by_item.items() if len(v) >= 2}
    result: dict[str, Any] = {"items": len(multi), "fleiss_kappa": None, "fleiss_items": 0, "raters_per_item": None, "pairs": []}
    if not multi:
        return result
    n = statistics.mode(len(v) for v in multi.values())
    same_n = [list(v.values()) for v in multi.values() if len(v) == n]
    table, _ = rating_table(same_n)
    result.update(fleiss_kappa=_finite(fleiss_kappa(table)), fleiss_items=len(same_n), raters_per_item=n)
    reviewers = sorted({r for v in multi.values() for r in v})
    for a, b in itertools.combinations(reviewers, 2):
        shared = [(v[a], v[b]) for v in multi.values() if a in v and b in v]
        if len(shared) >= 2:
            result["pairs"].append({"reviewers": [a, b], "items": len(shared),
                                    "cohen_kappa": _finite(cohen_kappa([x for x, _ in shared], [y for _, y in shared]))})
    return result


def _finite(x: float) -> float | None:
    return None if math.isnan(x) else x


def queue_stats(store: Store, model: ModelConfig, now: datetime) -> dict[str, Any]:
    """Counts by state and priority, overdue items, time to decision, progress per reviewer and agreement."""
    by_state = dict(store.query("SELECT state, count(*) FROM review_items WHERE model = ? GROUP BY 1", [model.name]))
    by_priority = {p: {"open": int(o), "overdue": int(d)} for p, o, d in store.query(
        "SELECT priority, count(*) FILTER (WHERE state IN ('pending', 'in_review')), "
        "count(*) FILTER (WHERE state IN ('pending', 'in_review') AND due_at < ?) FROM review_items WHERE model = ? GROUP BY 1",
        [now, model.name])}
    hours = store.query("SELECT median(seconds_from_routing) / 3600, quantile_cont(seconds_from_routing, 0.9) / 3600 "
                        "FROM review_decisions WHERE model = ? AND decision <> 'skip'", [model.name])[0]
    return {
        "model": model.name,
        "states": {s: int(by_state.get(s, 0)) for s in ("pending", "in_review", "decided", "skipped")},
        "overdue": sum(v["overdue"] for v in by_priority.values()),
        "by_priority": by_priority,
        "hours_to_decision": {"median": hours[0], "p90": hours[1]},
        "reviewers": reviewer_progress(store, model, now),
        "agreement": agreement(store, model),
    }
