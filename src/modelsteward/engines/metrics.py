"""Window metrics on any engine: the Ibis summaries of :mod:`~modelsteward.engines.aggregates`, then Python.

The result has the shape of :func:`~modelsteward.metrics.window.compute_window_metrics`:
``{window_start: {metric: value}}`` with volume, unique users, latency percentiles, error
rate, confidence, data-quality rates, class / error-type / category shares, and the quality
metrics (accuracy, precision, recall, F1, from the confusion counts against resolved labels).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.engines import aggregates as agg
from modelsteward.engines.connect import Engine
from modelsteward.metrics.quality import quality_metrics
from modelsteward.records import feature_column

__all__ = ["engine_window_metrics"]


def _known(model: ModelConfig, profile: Any | None) -> dict[str, list[str]]:
    categorical = profile.categorical if profile is not None else {}
    return {f.name: list(f.categories or []) + list(categorical.get(f.name, {})) for f in model.features if f.type == "categorical"}


def engine_window_metrics(engine: Engine, model: ModelConfig, start: datetime, end: datetime, *,
                          profile: Any | None, aligned: bool = False) -> dict[datetime, dict[str, float | None]]:
    """Metrics of every window with predictions whose start lies in ``[start, end)``, computed on ``engine``.

    ``profile`` supplies the reference ranges and categories for the data-quality rates.
    ``aligned`` says ``start`` and ``end`` lie on window boundaries (lets the engine filter on
    the timestamps alone).
    """
    rows = agg.window_rows(engine.events(model), model, start, end, aligned=aligned)
    numeric = profile.numeric if profile is not None else {}
    ranges = {name: (ref["min"], ref["max"]) for name, ref in numeric.items()}
    known = _known(model, profile)
    exprs, aliases = agg.window_scalars(rows, model, quantiles=engine.quantiles, numeric_ranges=ranges, known_categories=known,
                                        split=engine.kind == "spark")
    merged: dict[Any, dict[str, Any]] = {}
    for expr in exprs:
        for part in engine.rows(expr):
            merged.setdefault(part["window_start"], {}).update(part)
    out: dict[datetime, dict[str, float | None]] = {}
    for _, row in sorted(merged.items()):
        ws = row.pop("window_start")
        answered = row.pop("answered")
        quantiles = row.pop("latency_quantiles") or [None, None, None]
        row["latency_p50"], row["latency_p95"], row["latency_p99"] = quantiles
        out[ws] = {aliases.get(k, k): (None if v is None else float(v)) for k, v in row.items()}
        out[ws]["_answered"] = float(answered)
    if not out:
        return {}

    # One query for every count: the shares of each categorical column and the confusion counts.
    categorical = [feature_column(f.name) for f in model.features if f.type == "categorical"]
    feedback = engine.feedback(model)
    confusion_expr = None
    if feedback is not None:
        confusion_expr = agg.confusion_counts(rows, agg.resolved_labels(engine.events(model), feedback, model))
    counts: dict[str, dict[datetime, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    confusion: dict[datetime, dict[tuple[str, str], int]] = defaultdict(dict)
    for r in engine.rows(agg.window_value_counts(rows, ["prediction", "error", *categorical], confusion_expr,
                                                    unpivot=engine.kind == "spark")):
        if r["column"] == "confusion":
            confusion[r["window_start"]][(r["value"], r["label"])] = int(r["n"])
        else:
            counts[r["column"]][r["window_start"]][str(r["value"])] = int(r["n"])

    def shares(column: str, prefix: str, categories: list[str] | None, denominator: str = "volume") -> None:
        of = counts.get(column, {})
        for ws, metrics in out.items():
            if denominator == "answered":
                total = metrics["_answered"]
            elif denominator == "present":  # the non-missing values: missing ones are counted by missing_rate
                total = sum(of.get(ws, {}).values())
            else:
                total = metrics["volume"]
            cats = set(categories or []) | set(of.get(ws, {}))
            for cat in sorted(cats):
                metrics[f"{prefix}.{cat}"] = of.get(ws, {}).get(cat, 0) / total if total else None

    shares("prediction", "class_share", model.labels, denominator="answered")
    shares("error", "error_type_share", None)
    for f in model.features:
        if f.type == "categorical":
            shares(feature_column(f.name), f"feature.{f.name}.share", known[f.name], denominator="present")

    for ws, metrics in out.items():
        answered = metrics.pop("_answered")
        pairs = confusion.get(ws, {})
        labelled = sum(pairs.values())
        metrics["labelled"] = float(labelled)
        metrics["label_coverage"] = labelled / answered if answered else None
        metrics.update(quality_metrics(pairs))
        label_totals: dict[str, int] = defaultdict(int)
        for (_, label), n in pairs.items():
            label_totals[label] += n
        for lab in model.labels:
            metrics[f"label_share.{lab}"] = label_totals[lab] / labelled if labelled else None
    return out
