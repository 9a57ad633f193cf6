"""A routing policy replayed over logged traffic: what share would go to people, and why.

The number a team needs before switching a policy on. Every logged prediction of the period is
routed with the same compiled policy as ``Monitor.route`` (so the answer is exactly what the
policy would have done), reading the stored novelty score and the challengers' predictions of
the same input; nothing is written. When a disagreement condition names its challengers, their
(shadow) predictions are not traffic and are left out of the count.

>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "review": {"conditions": [{"kind": "confidence_below"}]}}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> _ = mon.log_predictions([{"prediction_id": f"t-{i}", "prediction": "urgent", "confidence": c}
...                          for i, c in enumerate([0.5, 0.65, 0.8, 0.9])])
>>> report = dry_run(mon.store, mon.model())
>>> report.total, report.routed, report.share, report.by_reason["confidence_below"]["routed"]
(4, 2, 0.5, 2)
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig, ReviewSettings
from modelsteward.records import feature_column
from modelsteward.review.policy import RouteInput
from modelsteward.review.routing import Router
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["DryRunReport", "dry_run"]

CHUNK = 50_000


@dataclass
class DryRunReport:
    """Routing replayed over a period: totals, and per reason how many it would route.

    ``by_reason[name]``: ``matched`` (the condition held), ``routed`` (held on a routed
    prediction), ``only`` (routed for this reason alone) and ``share`` (routed / total).
    """

    model: str
    start: datetime | None
    end: datetime | None
    total: int = 0
    routed: int = 0
    by_reason: dict[str, dict[str, float]] = field(default_factory=dict)
    by_priority: dict[str, int] = field(default_factory=dict)
    excluded_shadow: int = 0
    seconds: float = 0.0

    @property
    def share(self) -> float | None:
        return self.routed / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


def _shadow_versions(router: Router) -> tuple[set[str], set[str]]:
    """(challenger versions, champion versions) of the disagreement conditions."""
    challengers: set[str] = set()
    champions: set[str] = set()
    for cond in router.policy.disagreement:
        champions.add(cond.champion)
        challengers.update(cond.challengers)
    return challengers, champions


def _is_shadow(version: str | None, challengers: set[str], champions: set[str], any_other: bool) -> bool:
    if version in challengers:
        return True
    return any_other and version not in champions


def dry_run(
    store: Store,
    model: ModelConfig,
    settings: ReviewSettings | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DryRunReport:
    """Replay ``settings`` (default: the model's ``review``) over the predictions logged in ``[start, end)``."""
    began = time.perf_counter()
    router = Router(model, settings)
    table = ModelTables.predictions_table(model.name)
    feats = [f.name for f in model.features]
    where, params = ["1 = 1"], []
    if start is not None:
        where.append("ts >= ?")
        params.append(start)
    if end is not None:
        where.append("ts < ?")
        params.append(end)
    cond_sql = " AND ".join(where)
    total_rows = int(store.query(f"SELECT count(*) FROM {table} WHERE {cond_sql}", params)[0][0])
    shadow_versions, champions = _shadow_versions(router)
    any_other = any(not c.challengers for c in router.policy.disagreement)
    partners = _partners(store, table, router, cond_sql, params)
    report = DryRunReport(model.name, start, end)
    matched: Counter[str] = Counter()
    routed_by: Counter[str] = Counter()
    only: Counter[str] = Counter()
    priorities: Counter[str] = Counter()
    cols = ["prediction_id", "prediction", "confidence", "model_version", "user_id", "attributes", "novelty",
            *(f'"{feature_column(f)}"' for f in feats)]
    after, done = "", 0
    while True:
        rows = store.query(f"SELECT {', '.join(cols)} FROM {table} WHERE {cond_sql} AND prediction_id > ? "
                           f"ORDER BY prediction_id LIMIT {CHUNK}", [*params, after])
        if not rows:
            break
        for pid, pred, conf, version, user, attrs, novelty, *values in rows:
            if router.policy.disagreement and _is_shadow(version, shadow_versions, champions, any_other):
                report.excluded_shadow += 1
                continue
            attributes = json.loads(attrs) if attrs else {}
            inp = RouteInput(pid, pred, conf, dict(zip(feats, values, strict=True)), attributes, version, user, novelty)
            if partners:
                inp = replace(inp, challengers=tuple(_challengers_for(partners, router, inp)))
            decision = router.decide(inp)
            report.total += 1
            for r in decision.reasons:
                matched[r.name] += 1
            if decision.to_human:
                report.routed += 1
                priorities[str(decision.priority)] += 1
                for r in decision.reasons:
                    routed_by[r.name] += 1
                if len(decision.reasons) == 1:
                    only[decision.reasons[0].name] += 1
        done += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress(done, total_rows)
    report.by_reason = {name: {"matched": matched[name], "routed": routed_by[name], "only": only[name],
                               "share": routed_by[name] / report.total if report.total else 0.0}
                        for name in router.policy.names}
    report.by_priority = dict(priorities)
    report.seconds = time.perf_counter() - began
    return report


Partners = dict[str, dict[str, list[dict[str, Any]]]]


def _partners(store: Store, table: str, router: Router, cond_sql: str, params: list[Any]) -> Partners:
    """For each disagreement condition's input key: input id -> the non-champion predictions of it."""
    out: Partners = {}
    for cond in router.policy.disagreement:
        by_input: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for key, version, pred, conf, pid in store.query(
                # (a subquery: PostgreSQL does not see a select alias in its WHERE)
                "SELECT * FROM (SELECT json_extract_string(attributes, ?) AS k, model_version, prediction, confidence, "
                f"prediction_id FROM {table} WHERE {cond_sql} AND model_version IS DISTINCT FROM ?) AS s WHERE k IS NOT NULL",
                ["$." + cond.input_key, *params, cond.champion]):
            by_input[key].append({"model_version": version, "prediction": pred, "confidence": conf, "prediction_id": pid})
        out[cond.input_key] = by_input
    return out


def _challengers_for(partners: Partners, router: Router, inp: RouteInput) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for cond in router.policy.disagreement:
        key = inp.attributes.get(cond.input_key)
        if key is None or inp.model_version != cond.champion:
            continue
        out += [c for c in partners[cond.input_key].get(str(key), []) if c["prediction_id"] != inp.prediction_id]
    return out
