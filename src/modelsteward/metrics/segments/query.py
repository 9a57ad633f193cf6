"""Segmenting dimensions resolved to SQL, and one ``GROUP BY`` per dimension and period in the store.

Also the checks of a model and a period the triage functions share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.errors import ConfigError
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.records import feature_column
from modelsteward.store.base import Store
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables
from modelsteward.times import naive_utc

__all__ = ["ATTRIBUTE_KEY", "COLUMN_DIMENSIONS"]

ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # used with fullmatch
COLUMN_DIMENSIONS = ("model_version", "user_id", "prediction")


@dataclass(frozen=True)
class _Dimension:
    name: str
    sql: str
    params: tuple[Any, ...]


def _resolve(model: ModelConfig, by: str) -> _Dimension:
    """The SQL expression (and parameters) of a segmenting dimension, validated."""
    if not isinstance(by, str) or not by:
        raise ConfigError(f"expected a dimension name, got {by!r}", path="by")
    features = {f.name: f for f in model.features}
    kind, name = "auto", by
    if by.startswith("attributes."):
        kind, name = "attribute", by[len("attributes."):]
    elif by.startswith("feature."):
        kind, name = "feature", by[len("feature."):]
        if name not in features:
            raise ConfigError(f"model {model.name!r} has no feature {name!r}", path="by",
                              hint=f"features: {', '.join(features) or '(none)'}")
    if kind in ("auto", "feature") and name in features:
        if features[name].type != "categorical":
            raise ConfigError(f"feature {name!r} is numeric; segments need a categorical feature or an attribute",
                              path="by", hint="log a bucketed copy of it as an attribute to segment by it")
        return _Dimension(by, quote_ident(feature_column(name)), ())
    if kind == "auto" and name in COLUMN_DIMENSIONS:
        return _Dimension(by, quote_ident(name), ())
    if not ATTRIBUTE_KEY.fullmatch(name):
        raise ConfigError(f"invalid attribute key {name!r}", path="by",
                          hint="attribute keys may hold letters, digits, '_' and '-' only (at most 64)")
    # The key is validated above and passed as a parameter: nothing of it reaches the SQL text.
    return _Dimension(by, "json_extract_string(attributes, '$.\"' || ? || '\"')", (name,))


@dataclass(frozen=True)
class _Agg:
    """Counts and sums of one segment in one period (one row of the engine's GROUP BY)."""

    volume: int = 0
    n_conf: int = 0
    sum_conf: float = 0.0
    sum_conf2: float = 0.0
    n_low: int = 0
    errors: int = 0
    labelled: int = 0
    correct: int = 0

    def get(self, name: str) -> float:
        return float(getattr(self, name))

    def ratio(self, num: str, den: str) -> float | None:
        d = self.get(den)
        return self.get(num) / d if d else None


_EMPTY = _Agg()


def _aggregate(store: Store, model: ModelConfig, dim: _Dimension | None,
               start: datetime, end: datetime) -> dict[str | None, _Agg]:
    """One row per segment of ``dim`` (one row in all when ``dim`` is None) for ``[start, end)``."""
    table = ModelTables.predictions_table(model.name)
    labels_sql, label_params = resolved_labels_sql(model)
    expr, expr_params = (dim.sql, list(dim.params)) if dim is not None else ("CAST(NULL AS VARCHAR)", [])
    sql = f"""
        SELECT p.seg, count(*), count(p.confidence), coalesce(sum(p.confidence), 0),
               coalesce(sum(p.confidence * p.confidence), 0),
               count(*) FILTER (WHERE p.confidence < ?), count(p.error),
               count(*) FILTER (WHERE p.prediction IS NOT NULL AND l.label IS NOT NULL),
               count(*) FILTER (WHERE p.prediction IS NOT NULL AND p.prediction = l.label)
        FROM (SELECT CAST({expr} AS VARCHAR) AS seg, prediction_id, prediction, confidence, error
              FROM {table} WHERE ts >= ? AND ts < ?) p
        LEFT JOIN ({labels_sql}) l USING (prediction_id)
        GROUP BY p.seg
    """
    params = [model.low_confidence_threshold, *expr_params, start, end, *label_params]
    return {seg: _Agg(int(v), int(nc), float(sc), float(sc2), int(lo), int(er), int(lab), int(ok))
            for seg, v, nc, sc, sc2, lo, er, lab, ok in store.query(sql, params)}


def _model_config(store: Store, model: ModelConfig | str) -> ModelConfig:
    if isinstance(model, ModelConfig):
        return model
    store.require_model(model)
    return ModelConfig.model_validate_json(store.query("SELECT config FROM models WHERE name = ?", [model])[0][0])


def _period(name: str, period: Sequence[datetime]) -> tuple[datetime, datetime]:
    if len(period) != 2:
        raise ConfigError(f"expected ({name}_start, {name}_end), got {period!r}", path=name)
    start, end = naive_utc(period[0]), naive_utc(period[1])
    if not start < end:
        raise ConfigError(f"the {name} period must start before it ends ({start} .. {end})", path=name)
    return start, end


def _segment_order(seg: str | None) -> tuple[bool, str]:
    return seg is None, seg or ""

