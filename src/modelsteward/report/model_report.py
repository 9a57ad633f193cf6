"""The monitoring report of one model, built from what the store holds.

Panels follow the course document's dashboard: accuracy with its alert threshold and training
baseline, mean confidence, and the input mix with its baseline (the categories that alert
rules watch, else the largest ones); then volume, latency and error rate. Tables list the
windows, the drift verdicts and the fired alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig, ThresholdCondition
from modelsteward.report.charts import Band, Line, Panel, Series
from modelsteward.report.html import Section, Table

__all__ = ["model_sections", "watched_shares"]


def _label(ws: datetime, model: ModelConfig) -> str:
    return ws.strftime("%Y-%m-%d %H:00") if model.window == "hour" else ws.strftime("%Y-%m-%d")


def _threshold_lines(model: ModelConfig, metric: str) -> list[Line]:
    out = []
    for rule in model.alerts:
        if rule.metric == metric and isinstance(rule.condition, ThresholdCondition) and not rule.retrain:
            out.append(Line(rule.condition.value, f"Threshold ({rule.name}: {rule.condition.kind} {rule.condition.value:g})", "red"))
    return out


def watched_shares(model: ModelConfig, baselines: dict[str, float], limit: int = 4) -> list[str]:
    """Category-share metrics to chart: those alert rules watch, else the largest in the reference."""
    watched = [r.metric for r in model.alerts if r.metric.startswith("feature.") and ".share." in r.metric]
    if watched:
        return list(dict.fromkeys(watched))
    shares = sorted((k for k in baselines if k.startswith("feature.") and ".share." in k), key=lambda k: -baselines[k])
    return shares[:limit]


def model_sections(
    model: ModelConfig,
    history: Sequence[tuple[datetime, datetime, dict[str, float | None]]],
    baselines: dict[str, float],
    drift: Sequence[dict[str, Any]],
    alerts: Sequence[dict[str, Any]],
    *,
    x_labels: Sequence[str] | None = None,
    x_title: str = "Window",
) -> list[Section]:
    """Report sections for ``model`` from its window history, baselines, drift results and alerts."""
    xs = list(x_labels) if x_labels is not None else [_label(ws, model) for ws, _, _ in history]

    def series(metric: str, name: str, color: str) -> Series:
        return Series(name, xs, [m.get(metric) for _, _, m in history], color=color)

    def baseline_line(metric: str, label: str = "Training baseline") -> list[Line]:
        return [Line(baselines[metric], f"{label} ({baselines[metric]:.3g})", "green")] if metric in baselines else []

    acc_lines = _threshold_lines(model, "accuracy") + baseline_line("accuracy")
    acc_bands = [Band(baselines["accuracy"] - 0.08, baselines["accuracy"] + 0.02, "Expected range", "green")] if "accuracy" in baselines else []
    shares = watched_shares(model, baselines)
    mix_panel = Panel(
        "Input Distribution (Data Drift)", x_title, "Share of predictions",
        [series(m, m.split(".share.")[1] + " share", c) for m, c in zip(shares, ("#d62728", "#9467bd", "#8c564b", "#e377c2"), strict=False)],
        lines=[line for m in shares for line in baseline_line(m, f"Training baseline ({m.split('.share.')[1]})")],
        y_format=".0%",
    )
    dashboard = Section(
        "Dashboard",
        panels=[
            Panel("Model Accuracy Over Time", x_title, "Accuracy", [series("accuracy", "Accuracy", "#1f77b4")],
                  lines=acc_lines, bands=acc_bands, y_format=".0%"),
            Panel("Model Confidence Over Time", x_title, "Mean confidence", [series("mean_confidence", "Mean confidence", "#2ca02c")],
                  lines=_threshold_lines(model, "mean_confidence") + baseline_line("mean_confidence"), y_format=".2f"),
            mix_panel,
        ],
    )
    operations = Section(
        "Operations",
        panels=[
            Panel("Volume", x_title, "Predictions", [series("volume", "Volume", "#1f77b4")]),
            Panel("Latency", x_title, "Milliseconds", [series("latency_p50", "p50", "#2ca02c"), series("latency_p95", "p95", "#ff7f0e"),
                                                        series("latency_p99", "p99", "#d62728")],
                  lines=_threshold_lines(model, "latency_p95")),
            Panel("Errors and label coverage", x_title, "Rate", [series("error_rate", "Error rate", "#d62728"),
                                                                   series("label_coverage", "Label coverage", "#7f7f7f")], y_format=".0%"),
        ],
    )
    window_rows = []
    for x, (_, _, m) in zip(xs, history, strict=True):
        window_rows.append([x, _int(m.get("volume")), _pct(m.get("accuracy")), _pct(m.get("f1_macro")), _pct(m.get("label_coverage")),
                            _num(m.get("mean_confidence")), _pct(m.get("low_confidence_rate")), _num(m.get("latency_p95")),
                            _pct(m.get("error_rate")), _int(m.get("drift.features_drifted"))])
    verdicts = [d for d in drift if d["test"] == "verdict"]
    starts = {ws: x for x, (ws, _, _) in zip(xs, history, strict=True)}
    drift_rows = [[starts.get(d["window_start"], str(d["window_start"])), d["subject"], d["status"], d["reading"]] for d in verdicts]
    alert_rows = [[starts.get(a["window_start"], str(a["window_start"])), a["severity"], a["rule"], a["message"], a["action"] or "",
                   a["owner"] or "", a["response_sla"] or ""] for a in alerts]
    tables = Section(
        "Windows, drift and alerts",
        tables=[
            Table("Window metrics", ["Window", "Volume", "Accuracy", "F1 (macro)", "Label coverage", "Mean confidence",
                                     "Low-confidence rate", "Latency p95 (ms)", "Error rate", "Features drifted"], window_rows),
            Table("Drift verdicts", ["Window", "Subject", "Verdict", "Reading"], drift_rows,
                  note="KS and PSI for numeric inputs and confidence; chi-square and share change for categories."),
            Table("Fired alerts", ["Window", "Severity", "Rule", "What fired", "Action", "Owner", "Response SLA"], alert_rows),
        ],
    )
    return [dashboard, operations, tables]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def _int(v: float | None) -> str:
    return "—" if v is None else f"{int(v):,}"
