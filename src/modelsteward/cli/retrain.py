"""``steward retrain`` (requests, exports, the emergency trigger) and ``steward feedback`` (rates, orphans, samples).

Thin: parse, call :mod:`modelsteward.retrain` / :mod:`modelsteward.feedback`, print (a table,
or one JSON document with ``--json``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.table import Table

from modelsteward.cli import _monitor, _print_json, handle_errors, json_option, main, out

__all__ = ["feedback", "retrain"]

config_option = click.option("-c", "--config", default="steward.yaml", envvar="STEWARD_CONFIG", show_default=True,
                             help="steward.yaml to use (default: ./steward.yaml, or $STEWARD_CONFIG).")
store_option = click.option("--store", default=None, help="Store path, overriding the configuration's `store`.")
model_option = click.option("-m", "--model", default=None, help="Model name (needed when the configuration has several).")


def _request_row(r: Any) -> dict[str, Any]:
    return r.to_dict()


@main.group()
def retrain() -> None:
    """Retrain requests: list, show, export, and the manual (emergency) trigger."""


@retrain.command("list")
@config_option
@store_option
@model_option
@click.option("--status", default=None, help="Only requests in this status (open, exported, export_failed).")
@json_option
@handle_errors
def list_command(config: str, store: str | None, model: str | None, status: str | None, as_json: bool) -> None:
    """List retrain requests, oldest first."""
    from modelsteward.retrain.requests import list_requests

    with _monitor(config, store) as mon:
        name = mon.model(model).name if model or len(mon.config.models) == 1 else None
        rows = list_requests(mon.store, name, status=status)
    if as_json:
        _print_json([_request_row(r) for r in rows])
        return
    several = len({r.model for r in rows}) > 1
    for r in rows:  # two lines a request: what and when, then why (a table would cut the reason in a narrow terminal)
        model = f"{r.model}  " if several else ""
        out.print(f"[bold]{r.request_id}[/]  {model}{r.as_of:%Y-%m-%d %H:%M}  {r.trigger}  {r.status}  "
                  f"{r.labels_total:,} labels ({r.new_labels:,} new)", highlight=False)
        out.print(f"    {r.reason}", highlight=False, markup=False)
    if not rows:
        out.print("no retrain requests: triggers are evaluated by [bold]steward check[/]; "
                  "[bold]steward retrain trigger --reason ...[/] makes one by hand")


@retrain.command()
@click.argument("request_id")
@config_option
@store_option
@json_option
@handle_errors
def show(request_id: str, config: str, store: str | None, as_json: bool) -> None:
    """Show one request with its evidence and what its command and webhook did."""
    from modelsteward.retrain.requests import get_request

    with _monitor(config, store) as mon:
        r = get_request(mon.store, request_id)
    if as_json:
        _print_json(_request_row(r))
        return
    out.print(f"[bold]{r.request_id}[/] {r.model} — {r.trigger} ({r.kind}), status {r.status}", highlight=False)
    out.print(f"  as of {r.as_of:%Y-%m-%d %H:%M}; {r.labels_total:,} labelled predictions, {r.new_labels:,} new", highlight=False)
    out.print(f"  why: {r.reason}", highlight=False)
    if r.export_path:
        out.print(f"  export: {r.export_path} ({r.export_rows:,} rows)", highlight=False)
    out.print("  evidence:", highlight=False)
    out.print_json(json.dumps(r.evidence, default=str))
    for a in r.actions:
        state = "[green]ok[/]" if a.get("ok") else "[red]failed[/]"
        what = a.get("path") or a.get("url") or " ".join(a.get("argv", []))
        extra = f" — {a['error']}" if a.get("error") else ""
        out.print(f"  {a['action']} {state} {what}{extra}", highlight=False)


@retrain.command()
@click.argument("request_id")
@config_option
@store_option
@click.option("-o", "--out", "out_path", default=None, help="Write here instead of the configured export folder.")
@json_option
@handle_errors
def export(request_id: str, config: str, store: str | None, out_path: str | None, as_json: bool) -> None:
    """(Re-)export a request's labelled data as Parquet (labels as resolved now)."""
    from modelsteward.retrain.evaluate import export_request
    from modelsteward.retrain.requests import get_request

    with _monitor(config, store) as mon:
        r = export_request(mon, get_request(mon.store, request_id), out_path)
    if as_json:
        _print_json(_request_row(r))
        return
    if r.status == "export_failed":
        last = r.actions[-1]
        out.print(f"[red]export failed:[/] {last.get('error')}\n[yellow]hint:[/] {last.get('hint')}")
        raise SystemExit(2)
    out.print(f"[green]✓[/] {r.export_rows:,} labelled predictions written to {r.export_path}", highlight=False)


@retrain.command()
@click.argument("request_id")
@config_option
@store_option
@json_option
@handle_errors
def notify(request_id: str, config: str, store: str | None, as_json: bool) -> None:
    """Run the configured command and webhook again for a request."""
    from modelsteward.retrain.evaluate import notify_request
    from modelsteward.retrain.requests import get_request

    with _monitor(config, store) as mon:
        r = notify_request(mon, get_request(mon.store, request_id))
    if as_json:
        _print_json(_request_row(r))
        return
    for a in r.actions[-2:]:
        if a["action"] in ("command", "webhook"):
            out.print(f"{a['action']}: {'ok' if a.get('ok') else 'failed — ' + str(a.get('error') or a.get('exit_code'))}", highlight=False)


@retrain.command()
@config_option
@store_option
@model_option
@click.option("--reason", required=True, help="What changed: the request's reason (required).")
@click.option("--by", "requested_by", default=None, help="Who asks (default: $USER).")
@json_option
@handle_errors
def trigger(config: str, store: str | None, model: str | None, reason: str, requested_by: str | None, as_json: bool) -> None:
    """Make an emergency retrain request now (no cooldown or label minimum)."""
    from modelsteward.retrain.evaluate import request_retrain

    with _monitor(config, store) as mon:
        r = request_retrain(mon, reason=reason, model=model, requested_by=requested_by or os.environ.get("USER"))
    if as_json:
        _print_json(_request_row(r))
        return
    out.print(f"[green]✓[/] retrain request {r.request_id} for {r.model}: {r.export_rows or 0:,} labelled predictions "
              f"exported to {r.export_path}", highlight=False)


@main.group()
def feedback() -> None:
    """Feedback: collection rates per window, orphan feedback, the expert-review sample."""


_RATE_COLS = (("feedback.explicit_rate", "explicit"), ("feedback.implicit_rate", "implicit"), ("feedback.outcome_rate", "outcome"),
              ("feedback.expert_rate", "expert"), ("feedback.outcome_delay_hours_p50", "outcome delay p50 (h)"))


@feedback.command()
@config_option
@store_option
@model_option
@click.option("--last", default=12, show_default=True, help="How many recent windows to show.")
@json_option
@handle_errors
def rates(config: str, store: str | None, model: str | None, last: int, as_json: bool) -> None:
    """Feedback collection rates per window (computed by `steward check`)."""
    with _monitor(config, store) as mon:
        history = mon.metric_history(model)[-last:]
    rows = [{"window_start": ws, "window_end": we, **{k: m.get(k) for k, _ in _RATE_COLS}, "volume": m.get("volume")}
            for ws, we, m in history]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Feedback collection rates (share of the window's predictions)", box=box.SIMPLE_HEAD)
    table.add_column("window")
    table.add_column("n", justify="right")
    for _, header in _RATE_COLS:
        table.add_column(header, justify="right")
    for r in rows:
        cells = ["—" if r[k] is None else (f"{r[k]:.1f}" if k.endswith("p50") else f"{r[k]:.1%}") for k, _ in _RATE_COLS]
        table.add_row(f"{r['window_start']:%Y-%m-%d %H:%M}", "—" if r["volume"] is None else f"{r['volume']:,.0f}", *cells)
    out.print(table)
    if not rows:
        out.print("no windows yet: log predictions and feedback, then run [bold]steward check[/]")


@feedback.command()
@config_option
@store_option
@model_option
@click.option("--limit", default=100, show_default=True, help="Show at most this many (oldest first).")
@json_option
@handle_errors
def orphans(config: str, store: str | None, model: str | None, limit: int, as_json: bool) -> None:
    """Feedback whose prediction has not arrived, with its age; exit 1 when some are overdue."""
    from modelsteward.feedback.orphans import orphan_feedback

    with _monitor(config, store) as mon:
        cfg = mon.model(model)
        rows = orphan_feedback(mon.store, cfg, limit=limit)
    overdue = sum(r["overdue"] for r in rows)
    if as_json:
        _print_json({"ok": overdue == 0, "model": cfg.name, "orphan_after": cfg.feedback.orphan_after, "orphans": rows})
    else:
        table = Table(title=f"Feedback waiting for its prediction (overdue after {cfg.feedback.orphan_after})", box=box.SIMPLE_HEAD)
        for c in ("feedback", "prediction", "kind", "received", "age (h)", ""):
            table.add_column(c)
        for r in rows:
            table.add_row(r["feedback_id"], r["prediction_id"], r["kind"], f"{r['ingested_at']:%Y-%m-%d %H:%M}",
                          f"{r['age_hours']:.1f}", "[red]overdue[/]" if r["overdue"] else "")
        out.print(table)
        out.print(f"{len(rows)} orphan(s), {overdue} overdue" if rows else "no orphan feedback: every feedback event has its prediction")
    if overdue:
        raise SystemExit(1)


@feedback.command()
@config_option
@store_option
@model_option
@click.option("--week", type=click.DateTime(), required=True, help="A day of the week to sample (weeks start on Monday, UTC).")
@click.option("--n", "n", type=int, default=None, help="Random sample size (default: feedback.expert_review.weekly_sample).")
@click.option("--seed", type=int, default=None, help="Seed (default: feedback.expert_review.seed).")
@click.option("--enqueue", is_flag=True,
              help="Put the week's sample in the model's review queue (once per prediction; needs a `review:` section).")
@json_option
@handle_errors
def sample(config: str, store: str | None, model: str | None, week: datetime, n: int | None, seed: int | None, enqueue: bool,
           as_json: bool) -> None:
    """The week's expert-review sample: high-confidence errors, then a seeded random sample."""
    from modelsteward.feedback.sampling import expert_review_plan

    if enqueue:
        _enqueue_sample(config, store, model, week, n, seed, as_json)
        return
    with _monitor(config, store) as mon:
        cfg = mon.model(model)
        plan = cfg.feedback.expert_review.model_copy(update={k: v for k, v in (("weekly_sample", n), ("seed", seed)) if v is not None})
        cfg = cfg.model_copy(update={"feedback": cfg.feedback.model_copy(update={"expert_review": plan})})
        rows = expert_review_plan(mon.store, cfg, week)
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"Expert review, week of {week:%Y-%m-%d}", box=box.SIMPLE_HEAD)
    for c in ("prediction", "time", "predicted", "confidence", "why"):
        table.add_column(c)
    for r in rows:
        why = f"high-confidence error ({r['evidence']})" if r["reason"] == "high_confidence_error" else "random sample"
        table.add_row(r["prediction_id"], f"{r['ts']:%Y-%m-%d %H:%M}", str(r["prediction"]),
                      "—" if r["confidence"] is None else f"{r['confidence']:.3f}", why)
    out.print(table)


def _enqueue_sample(config: str, store: str | None, model: str | None, week: datetime, n: int | None, seed: int | None,
                    as_json: bool) -> None:
    from modelsteward.review.planned import enqueue_expert_sample
    from modelsteward.review.queue import item_id_for

    with _monitor(config, store) as mon:
        done = enqueue_expert_sample(mon, model, week_start=week, n=n, seed=seed)
    if as_json:
        _print_json(done.to_dict())
        return
    created, reviewed = set(done.created), set(done.reviewed)
    table = Table(title=f"Expert review queued, week of {done.week_start:%Y-%m-%d}", box=box.SIMPLE_HEAD)
    for c in ("prediction", "predicted", "confidence", "why", "queued"):
        table.add_column(c)
    for r in done.rows:  # item ids: --json, or steward review list
        pid = r["prediction_id"]
        state = ("reviewed already" if pid in reviewed else "[green]new[/]" if item_id_for(done.model, pid) in created
                 else "before")
        table.add_row(pid, str(r["prediction"]), "—" if r["confidence"] is None else f"{r['confidence']:.3f}",
                      "high-confidence error" if r["reason"] == "high_confidence_error" else "random sample", state)
    out.print(table)
    out.print(f"{len(done.created)} new review item(s), {len(done.already_queued)} queued before, "
              f"{len(done.reviewed)} reviewed already; claim them with [bold]steward review claim[/]", highlight=False)
