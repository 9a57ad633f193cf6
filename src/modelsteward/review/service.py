"""``Monitor.route``: gather what the policy needs, decide, and queue routed predictions.

The request-path cost is the policy's evaluation (plain Python over the values passed in)
plus, for a routed prediction, one write of its review item. The store is read only for what
was not passed: a prediction given by id alone, the novelty score of an input (scored from
the features when a novelty scorer exists), or the challengers' predictions of the same input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelsteward.config import ModelConfig
from modelsteward.errors import NotFoundError
from modelsteward.records import feature_column
from modelsteward.review.policy import RouteInput
from modelsteward.review.queue import ReviewQueue
from modelsteward.review.routing import Router, RoutingDecision
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["route", "stored_input"]


def stored_input(store: Store, model: ModelConfig, prediction_id: str) -> RouteInput:
    """A logged prediction as routing input (NotFoundError when it was never logged)."""
    table = ModelTables.predictions_table(model.name)
    feats = [f.name for f in model.features]
    cols = ", ".join(["prediction", "confidence", "model_version", "user_id", "attributes", "novelty",
                      *(f'"{feature_column(f)}"' for f in feats)])
    rows = store.query(f"SELECT {cols} FROM {table} WHERE prediction_id = ?", [prediction_id])
    if not rows:
        raise NotFoundError(f"model {model.name!r} has no prediction {prediction_id!r}",
                            hint="log the prediction first, or pass prediction= and confidence= to route it as given")
    prediction, confidence, version, user, attributes, novelty, *values = rows[0]
    return RouteInput(prediction_id, prediction, confidence, dict(zip(feats, values, strict=True)),
                      json.loads(attributes) if attributes else {}, version, user, novelty)


def challengers_of(store: Store, model: ModelConfig, router: Router, inp: RouteInput) -> list[dict[str, Any]]:
    """The other versions' logged predictions of the same input (by the disagreement condition's ``input_key``)."""
    table = ModelTables.predictions_table(model.name)
    out: list[dict[str, Any]] = []
    for cond in router.policy.disagreement:
        key = inp.attributes.get(cond.input_key) if inp.attributes else None
        if key is None or inp.model_version != cond.champion:
            continue
        rows = store.query(
            f"SELECT model_version, prediction, confidence FROM {table} WHERE json_extract_string(attributes, ?) = ? "
            "AND prediction_id <> ? AND model_version IS DISTINCT FROM ?",
            ["$." + cond.input_key, str(key), inp.prediction_id, cond.champion])
        out += [{"model_version": v, "prediction": p, "confidence": c} for v, p, c in rows]
    return out


def route(
    monitor: Monitor,
    prediction_id: str,
    *,
    prediction: str | None = None,
    confidence: float | None = None,
    features: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    model_version: str | None = None,
    user_id: str | None = None,
    novelty: float | None = None,
    challengers: Sequence[Mapping[str, Any]] | None = None,
    model: str | None = None,
    enqueue: bool = True,
    routed_at: datetime | None = None,
) -> RoutingDecision:
    cfg = monitor.model(model)
    router = monitor._router(cfg)
    if prediction is None and confidence is None:
        inp = stored_input(monitor.store, cfg, prediction_id)
        if novelty is not None or challengers is not None:
            inp = replace(inp, novelty=novelty if novelty is not None else inp.novelty)
    else:
        inp = RouteInput(prediction_id, prediction, confidence, features or {}, attributes or {}, model_version, user_id, novelty)
    if router.policy.needs_novelty and inp.novelty is None and inp.features:
        inp = replace(inp, novelty=monitor.novelty(inp.features, model=cfg.name))
    if challengers is not None:
        inp = replace(inp, challengers=tuple(challengers))
    elif router.policy.disagreement:
        inp = replace(inp, challengers=tuple(challengers_of(monitor.store, cfg, router, inp)))
    decision = router.decide(inp)
    if decision.to_human and enqueue and router.settings.enabled:
        item_id = ReviewQueue(monitor, cfg.name).enqueue(decision, inp, routed_at=routed_at)
        decision = replace(decision, item_id=item_id)
    return decision
