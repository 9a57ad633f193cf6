"""Triage of one window: where to look when an alert fires.

:func:`triage` gathers, for one window of one model,

* the diagnosis ``check`` stored (which kinds of drift, and why);
* the segments that explain most of a metric's change against a baseline period, ranked
  (:func:`~modelsteward.metrics.segments.explain_drop`: a rate and a mix part per segment);
* the features (and outputs) that moved most (:func:`~modelsteward.metrics.segments.explain_drift`),
  and, when the multivariate check ran, the features the domain classifier relies on most;
* the window's metrics per segment of every dimension (:func:`~modelsteward.metrics.segments.segment_metrics`).

Dimensions default to every categorical feature, ``model_version`` when the window has more
than one, and every key of the logged ``attributes`` with at most :data:`MAX_SEGMENTS`
distinct values in the window (free-text attributes named in ``diagnosis.text`` are left
out). The baseline is the reference period when the reference is one, else the
``baseline_windows`` windows before the one triaged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.drift.kinds import stored_diagnoses
from modelsteward.errors import InsufficientDataError, NotFoundError
from modelsteward.metrics.segments import (
    ATTRIBUTE_KEY,
    DriftExplanation,
    DropExplanation,
    SegmentMetrics,
    explain_drift,
    explain_drop,
    segment_metrics,
)
from modelsteward.metrics.window import WINDOW_LENGTH, window_bounds
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["MAX_SEGMENTS", "Triage", "default_dimensions", "triage"]

MAX_SEGMENTS = 50


@dataclass(frozen=True)
class Triage:
    """Where to look in one window: diagnosis, ranked segments and features, metrics by segment."""

    model: str
    window_start: datetime
    window_end: datetime
    metric: str
    baseline: tuple[datetime, datetime]
    dimensions: tuple[str, ...]
    diagnosis: dict[str, Any] | None
    drop: DropExplanation | None
    drop_note: str | None
    drift: DriftExplanation | None
    separating: tuple[dict[str, Any], ...]
    segments: dict[str, list[SegmentMetrics]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "window_start": self.window_start.isoformat(), "window_end": self.window_end.isoformat(),
            "metric": self.metric, "baseline": [b.isoformat() for b in self.baseline], "dimensions": list(self.dimensions),
            "diagnosis": None if self.diagnosis is None else {
                **self.diagnosis, "window_start": self.diagnosis["window_start"].isoformat(),
                "window_end": self.diagnosis["window_end"].isoformat()},
            "drop": None if self.drop is None else self.drop.to_dict(), "drop_note": self.drop_note,
            "drift": None if self.drift is None else self.drift.to_dict(), "separating_features": list(self.separating),
            "segments": {d: [s.to_dict() for s in rows] for d, rows in self.segments.items()},
        }


def default_dimensions(store: Store, model: ModelConfig, start: datetime, end: datetime) -> list[str]:
    """Categorical features, ``model_version`` when it varies, and the attribute keys with few distinct values."""
    table = ModelTables.predictions_table(model.name)
    dims = [f.name for f in model.features if f.type == "categorical"]
    taken = {f.name for f in model.features} | {"model_version", "user_id", "prediction"}
    if store.query(f"SELECT count(DISTINCT model_version) FROM {table} WHERE ts >= ? AND ts < ?", [start, end])[0][0] > 1:
        dims.append("model_version")
    keys = store.query(
        f"SELECT DISTINCT unnest(json_keys(attributes)) AS k FROM {table} WHERE ts >= ? AND ts < ? AND attributes IS NOT NULL ORDER BY k",
        [start, end])
    text = set(model.diagnosis.text.attributes)
    for (key,) in keys:
        if key in text or not ATTRIBUTE_KEY.fullmatch(str(key)):
            continue
        n = store.query(
            f"SELECT count(DISTINCT json_extract_string(attributes, '$.\"' || ? || '\"')) FROM {table} WHERE ts >= ? AND ts < ?",
            [key, start, end])[0][0]
        if n <= MAX_SEGMENTS:
            dims.append(f"attributes.{key}" if key in taken else str(key))  # the prefix only where a name is ambiguous
    return dims


def _separating(store: Store, model: str, start: datetime) -> tuple[dict[str, Any], ...]:
    rows = store.query("SELECT details FROM drift_results WHERE model = ? AND window_start = ? AND subject = 'multivariate' "
                       "AND test = 'domain_classifier' AND status <> 'not_enough_data'", [model, start])
    if not rows or rows[0][0] is None:
        return ()
    return tuple(json.loads(rows[0][0]).get("features", []))


def triage(store: Store, model: ModelConfig, when: datetime, *, by: list[str] | None = None, metric: str = "accuracy",
           baseline_windows: int = 4, top: int = 5, min_labelled: int = 30) -> Triage:
    """Triage the window holding ``when`` (see the module notes).

    Raises
    ------
    NotFoundError
        The window has no predictions.
    ConfigError
        A dimension of ``by`` is invalid (a numeric feature, a malformed attribute key).
    """
    start, end = window_bounds(model, when)
    table = ModelTables.predictions_table(model.name)
    if not store.query(f"SELECT count(*) FROM {table} WHERE ts >= ? AND ts < ?", [start, end])[0][0]:
        raise NotFoundError(f"model {model.name!r} has no predictions in the window starting {start:%Y-%m-%d %H:%M}",
                            hint="pick a window with predictions (`steward metrics` lists them)")
    ref = model.reference
    if ref is not None and ref.start is not None and ref.end is not None:
        base = (ref.start, ref.end)
    else:
        base = (start - baseline_windows * WINDOW_LENGTH[model.window], start)
    dims = list(dict.fromkeys(by)) if by else default_dimensions(store, model, start, end)
    drop: DropExplanation | None = None
    note: str | None = None
    if dims:
        try:
            drop = explain_drop(store, model, metric=metric, current=(start, end), baseline=base, by=dims, min_labelled=min_labelled)
        except InsufficientDataError as exc:
            note = exc.message
    else:
        note = "no dimension to break the change down by: log attributes (e.g. customer tier) or declare categorical features"
    try:
        drift: DriftExplanation | None = explain_drift(store, model, window=start, top=top)
    except NotFoundError:
        drift = None
    found = stored_diagnoses(store, model.name, window_start=start)
    segments = {d: segment_metrics(store, model, start, end, by=d, baseline_start=base[0], baseline_end=base[1]) for d in dims}
    return Triage(model.name, start, end, metric, base, tuple(dims), found[0] if found else None, drop, note, drift,
                  _separating(store, model.name, start)[:top], segments)
