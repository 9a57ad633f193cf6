"""What the overview and drift pages show, read from the store (small, bounded queries).

Every read here touches stored summaries (window metrics, drift results, the reference
profile), never the prediction rows, except the distribution of one feature in one window,
which is one aggregate over that window. So a page costs about the same at 10 million stored
predictions as at ten thousand.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.errors import NotFoundError
from modelsteward.metrics.binning import bin_index_sql
from modelsteward.metrics.window import WINDOW_LENGTH
from modelsteward.reference import ReferenceProfile, categorical_subjects, load_profile, numeric_subjects
from modelsteward.report.charts import Band, Line, Panel, Series
from modelsteward.report.model_report import model_sections
from modelsteward.store.base import Store
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables

__all__ = ["MAX_CATEGORIES", "OVERVIEW_WINDOWS", "distribution", "drift_subjects", "estimate_panel", "history", "profile_or_none",
           "subject_history", "window_label", "window_tests"]

#: Windows shown on the overview's charts (the most recent ones).
OVERVIEW_WINDOWS = 52

#: Categories drawn in a distribution chart (the largest; the rest are summed as "(other)").
MAX_CATEGORIES = 30


def window_label(ws: datetime, model: ModelConfig) -> str:
    return ws.strftime("%Y-%m-%d %H:00") if model.window == "hour" else ws.strftime("%Y-%m-%d")


def profile_or_none(store: Store, model: ModelConfig) -> ReferenceProfile | None:
    """The stored reference profile, read as it is (a page never rebuilds it)."""
    try:
        return load_profile(store, model.name)
    except NotFoundError:
        return None


def baselines_of(store: Store, model: ModelConfig, profile: ReferenceProfile | None) -> dict[str, float]:
    if profile is not None:
        return dict(profile.baselines)
    return dict(model.reference.baselines) if model.reference is not None else {}


History = list[tuple[datetime, datetime, dict[str, float | None]]]


def history(store: Store, model: ModelConfig, *, windows: int = OVERVIEW_WINDOWS) -> History:
    """The stored metrics of the last ``windows`` windows, oldest first."""
    rows = store.query(
        """
        WITH recent AS (SELECT DISTINCT window_start FROM window_metrics WHERE model = ? ORDER BY window_start DESC LIMIT ?)
        SELECT window_start, window_end, metric, value FROM window_metrics
        WHERE model = ? AND window_start IN (SELECT window_start FROM recent) ORDER BY window_start
        """,
        [model.name, int(windows), model.name],
    )
    out: dict[datetime, tuple[datetime, dict[str, float | None]]] = {}
    for ws, we, metric, value in rows:
        out.setdefault(ws, (we, {}))[1][metric] = value
    return [(ws, we, m) for ws, (we, m) in sorted(out.items())]


def overview_panels(model: ModelConfig, hist: list[tuple[datetime, datetime, dict[str, float | None]]],
                    baselines: dict[str, float]) -> tuple[list[Panel], list[Panel]]:
    """The course dashboard's panels and the operations panels (the report's, reused)."""
    sections = model_sections(model, hist, baselines, [], [])
    dashboard, operations = list(sections[0].panels), list(sections[1].panels)
    return dashboard, operations


def estimate_panel(model: ModelConfig, hist: list[tuple[datetime, datetime, dict[str, float | None]]],
                   baselines: dict[str, float]) -> Panel | None:
    """Estimated accuracy (CBPE, with its interval) against realised accuracy; None when nothing was estimated."""
    if not any(m.get("estimated.accuracy") is not None for _, _, m in hist):
        return None
    xs = [window_label(ws, model) for ws, _, _ in hist]

    def series(metric: str, name: str, color: str, marker: str = "circle") -> Series:
        return Series(name, xs, [m.get(metric) for _, _, m in hist], color=color, marker=marker)

    lines = [Line(baselines["accuracy"], f"Training baseline ({baselines['accuracy']:.3g})", "green")] if "accuracy" in baselines else []
    return Panel(
        "Estimated against realised accuracy", "Window", "Accuracy",
        [series("estimated.accuracy", "Estimated (CBPE)", "#9467bd", "diamond"),
         series("estimated_lower.accuracy", "Estimate lower bound", "#c5b0d5", "triangle-up"),
         series("estimated_upper.accuracy", "Estimate upper bound", "#c5b0d5", "triangle-down"),
         series("accuracy", "Realised (labelled)", "#1f77b4")],
        lines=lines, y_format=".0%",
    )


def drift_subjects(model: ModelConfig) -> list[tuple[str, str]]:
    """``(subject, kind)`` of every subject the drift page covers: features, then the model's outputs."""
    numeric, categorical = numeric_subjects(model), categorical_subjects(model)
    out: list[tuple[str, str]] = [(f.name, f.type) for f in model.features]
    out += [("confidence", "numeric")] if "confidence" in numeric else []
    out += [(s, "categorical") for s in ("prediction", "label") if s in categorical]
    return out


def latest_verdicts(store: Store, model: ModelConfig) -> tuple[datetime | None, dict[str, dict[str, Any]]]:
    """The last window with drift results, and each subject's verdict in it."""
    last = store.query("SELECT max(window_start) FROM drift_results WHERE model = ? AND test = 'verdict'", [model.name])[0][0]
    if last is None:
        return None, {}
    rows = store.query_dicts(
        "SELECT subject, status, reading, effect_size, p_value, details FROM drift_results "
        "WHERE model = ? AND window_start = ? AND test = 'verdict'", [model.name, last])
    return last, {r["subject"]: _with_details(r) for r in rows}


def _with_details(row: dict[str, Any]) -> dict[str, Any]:
    details = json.loads(row.get("details") or "{}")
    return {**row, "details": details, "p_adjusted": details.get("p_adjusted"), "threshold": details.get("threshold")}


def subject_windows(store: Store, model: ModelConfig, subject: str) -> list[datetime]:
    return [r[0] for r in store.query(
        "SELECT DISTINCT window_start FROM drift_results WHERE model = ? AND subject = ? ORDER BY 1", [model.name, subject])]


def window_tests(store: Store, model: ModelConfig, subject: str, window_start: datetime) -> list[dict[str, Any]]:
    """Every test of ``subject`` in one window, the verdict first, with effect size, p-values and threshold."""
    rows = store.query_dicts(
        "SELECT test, status, reading, statistic, p_value, effect_size, n_reference, n_current, details FROM drift_results "
        "WHERE model = ? AND subject = ? AND window_start = ? ORDER BY test = 'verdict' DESC, test", [model.name, subject, window_start])
    return [_with_details(r) for r in rows]


def subject_history(store: Store, model: ModelConfig, subject: str, *, limit: int, offset: int = 0,
                    newest_first: bool = True) -> tuple[int, list[dict[str, Any]]]:
    """The subject's verdicts over time: (how many windows, one page of them)."""
    total = int(store.query("SELECT count(*) FROM drift_results WHERE model = ? AND subject = ? AND test = 'verdict'",
                            [model.name, subject])[0][0])
    order = "DESC" if newest_first else "ASC"
    rows = store.query_dicts(
        "SELECT window_start, status, reading, effect_size, p_value, n_current, details FROM drift_results "
        f"WHERE model = ? AND subject = ? AND test = 'verdict' ORDER BY window_start {order} LIMIT ? OFFSET ?",
        [model.name, subject, int(limit), int(offset)])
    return total, [_with_details(r) for r in rows]


def drift_over_time_panels(model: ModelConfig, subject: str, verdicts: list[dict[str, Any]]) -> list[Panel]:
    """Effect size against its threshold, and the adjusted p-value against alpha, window by window."""
    if not verdicts:
        return []
    xs = [window_label(v["window_start"], model) for v in verdicts]
    threshold = next((v["threshold"] for v in reversed(verdicts) if v["threshold"] is not None), None)
    effect_name = verdicts[-1]["details"].get("effect_test", "effect size")
    effect = Panel(f"{subject}: effect size over time", "Window", str(effect_name),
                   [Series(f"{effect_name}", xs, [v["effect_size"] for v in verdicts], color="#d62728")],
                   lines=[Line(float(threshold), f"Practical threshold ({float(threshold):g})", "orange")] if threshold is not None else [])
    p_name = verdicts[-1]["details"].get("p_test", "test")
    ps = [None if v["p_adjusted"] is None else max(float(v["p_adjusted"]), 1e-300) for v in verdicts]
    pvalue = Panel(f"{subject}: adjusted p-value over time ({p_name})", "Window", "p (adjusted)",
                   [Series("p (adjusted)", xs, ps, color="#1f77b4")],
                   lines=[Line(model.drift.p_value, f"Significance ({model.drift.p_value:g})", "red")],
                   bands=[Band(0.0, model.drift.p_value, "Significant", "red", 0.08)], y_format=".2g")
    return [effect, pvalue]


def distribution(store: Store, model: ModelConfig, profile: ReferenceProfile | None, subject: str, kind: str,
                 window_start: datetime) -> tuple[list[str], list[float], list[float]] | None:
    """Reference and current shares of ``subject`` in the window at ``window_start``: (labels, reference, current).

    Numeric subjects use the reference's quantile bins (right-closed, as the drift tests do);
    categorical ones the categories, the largest :data:`MAX_CATEGORIES` kept and the rest summed.
    """
    if profile is None:
        return None
    table = ModelTables.predictions_table(model.name)
    end = window_start + WINDOW_LENGTH[model.window]
    if kind == "numeric":
        ref = profile.numeric.get(subject)
        if ref is None:
            return None
        column = quote_ident(numeric_subjects(model)[subject])
        expr, params = bin_index_sql(column, ref["edges"])
        got = dict(store.query(f"SELECT {expr}, count(*) FROM {table} WHERE ts >= ? AND ts < ? AND {column} IS NOT NULL GROUP BY 1",
                               [*params, window_start, end]))
        current = [int(got.get(i, 0)) for i in range(len(ref["edges"]) + 1)]
        return _bin_labels(ref["edges"]), _shares(ref["counts"]), _shares(current)
    ref_counts = profile.categorical.get(subject, {})
    if subject == "label":
        return None  # labels are resolved from feedback: the verdict's stored shares stand in
    column = quote_ident(categorical_subjects(model)[subject] if subject != "prediction" else "prediction")
    got = {str(k): int(n) for k, n in store.query(
        f"SELECT {column}, count(*) FROM {table} WHERE ts >= ? AND ts < ? AND {column} IS NOT NULL GROUP BY 1", [window_start, end])}
    ref_total, cur_total = sum(ref_counts.values()), sum(got.values())
    cats = sorted(set(ref_counts) | set(got),
                  key=lambda c: -(ref_counts.get(c, 0) / max(ref_total, 1) + got.get(c, 0) / max(cur_total, 1)))
    keep, rest = cats[:MAX_CATEGORIES], cats[MAX_CATEGORIES:]
    r = [ref_counts.get(c, 0) for c in keep]
    k = [got.get(c, 0) for c in keep]
    if rest:
        keep = [*keep, "(other)"]
        r.append(sum(ref_counts.get(c, 0) for c in rest))
        k.append(sum(got.get(c, 0) for c in rest))
    return keep, _shares(r), _shares(k)


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _bin_labels(edges: list[float]) -> list[str]:
    if not edges:
        return ["all values"]
    f = _edge
    return [f"≤ {f(edges[0])}", *(f"({f(a)}, {f(b)}]" for a, b in zip(edges, edges[1:], strict=False)), f"> {f(edges[-1])}"]


def _edge(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
