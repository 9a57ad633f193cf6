"""``steward triage``: where to look when an alert fires (a thin layer over :mod:`modelsteward.drift.triage`)."""

from __future__ import annotations

from datetime import datetime

import click
from rich import box
from rich.table import Table

from modelsteward.cli import _monitor, _print_json, config_option, handle_errors, json_option, main, model_option, out, store_option
from modelsteward.metrics.segments import DECOMPOSABLE_METRICS

__all__ = ["triage_command"]


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _pts(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f}"


@main.command("triage")
@config_option
@store_option
@model_option
@click.option("--window", "when", type=click.DateTime(), default=None,
              help="Any time in the window to triage (default: the latest window with an alert, else the latest one).")
@click.option("--by", "by", multiple=True, metavar="DIMENSION",
              help="A categorical feature, model_version, user_id, prediction or an attribute key "
                   "(repeatable; default: all with few values).")
@click.option("--metric", type=click.Choice(DECOMPOSABLE_METRICS), default="accuracy", show_default=True,
              help="The metric whose change to explain.")
@click.option("--baseline-windows", default=4, show_default=True,
              help="Windows before this one to compare with (when the reference is not a period).")
@click.option("--top", default=5, show_default=True, help="How many segments and features to rank.")
@json_option
@handle_errors
def triage_command(config: str, store: str | None, model: str | None, when: datetime | None, by: tuple[str, ...], metric: str,
                   baseline_windows: int, top: int, as_json: bool) -> None:
    """Metrics by segment, and the segments and features that explain a drop or a drift, ranked."""
    from modelsteward.drift.triage import triage

    with _monitor(config, store) as mon:
        cfg = mon.model(model)
        if when is None:
            alerts = mon.alerts(cfg.name)
            history = mon.metric_history(cfg.name)
            when = alerts[-1]["window_start"] if alerts else (history[-1][0] if history else datetime.min)
        result = triage(mon.store, cfg, when, by=list(by) or None, metric=metric, baseline_windows=baseline_windows, top=top)
    if as_json:
        _print_json({"ok": True, **result.to_dict()})
        return
    out.print(f"[bold]{result.model}[/], window {result.window_start:%Y-%m-%d %H:%M}; baseline "
              f"{result.baseline[0]:%Y-%m-%d %H:%M} to {result.baseline[1]:%Y-%m-%d %H:%M}", highlight=False)
    if result.diagnosis:
        out.print(f"[bold]diagnosis:[/] {result.diagnosis['summary']}", highlight=False)
    if result.drop is not None:
        out.print(f"[bold]{metric}:[/] {result.drop.summary}", highlight=False)
        table = Table(title=f"Segments that explain the change of {metric}, largest first", box=box.SIMPLE_HEAD)
        for c in ("segment", "baseline", "now", "contribution (pts)", "rate", "mix", "n now", "note"):
            table.add_column(c, justify="left" if c in ("segment", "note") else "right")
        for s in result.drop.ranked[:top]:
            table.add_row(s.label, _pct(s.baseline_value), _pct(s.current_value), _pts(s.contribution), _pts(s.rate), _pts(s.mix),
                          f"{s.current_n:,}", "few rows" if s.uncertain else "")
        out.print(table)
    elif result.drop_note:
        out.print(f"[yellow]{metric}:[/] {result.drop_note}", highlight=False)
    if result.drift is not None:
        table = Table(title="What moved most", box=box.SIMPLE_HEAD)
        for c in ("subject", "verdict", "effect / threshold", "reading"):
            table.add_column(c, overflow="fold")
        for d in result.drift.drivers:
            table.add_row(d.subject, d.status, "—" if d.relative_effect is None else f"{d.relative_effect:.2f}", d.reading)
        out.print(table)
    if result.separating:
        out.print("features the domain classifier relies on most: "
                  + ", ".join(f"{f['feature']} (AUC drop {f['auc_drop']:.3f})" for f in result.separating), highlight=False)
    for dim, rows in result.segments.items():
        table = Table(title=f"By {dim}", box=box.SIMPLE_HEAD)
        for c in ("segment", "volume", "share", "share before", "accuracy", "accuracy before", "low conf.", "errors"):
            table.add_column(c, justify="left" if c == "segment" else "right")
        for seg in rows:
            table.add_row(seg.label, f"{seg.volume:,}", _pct(seg.share), _pct(seg.baseline_share), _pct(seg.accuracy),
                          _pct(seg.baseline_accuracy), _pct(seg.low_confidence_rate), _pct(seg.error_rate))
        out.print(table)
