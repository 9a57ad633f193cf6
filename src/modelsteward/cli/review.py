"""``steward review``: the review queue in the terminal, and a policy's dry run.

Thin: each command opens the store (waiting while another process holds it, see
:mod:`modelsteward.review.locking`), calls the library and prints. The reviewer is named with
``--reviewer`` (or ``$STEWARD_REVIEWER``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml
from rich import box
from rich.table import Table

from modelsteward.cli import _print_json, _progress, err, handle_errors, json_option, main, out
from modelsteward.config import ReviewSettings, config_error_from_pydantic
from modelsteward.errors import ConfigError

__all__ = ["review"]

config_option = click.option("-c", "--config", default="steward.yaml", envvar="STEWARD_CONFIG", show_default=True,
                             help="steward.yaml to use (default: ./steward.yaml, or $STEWARD_CONFIG).")
store_option = click.option("--store", default=None, help="Store path, overriding the configuration's `store`.")
model_option = click.option("-m", "--model", default=None, help="Model name (needed when the configuration has several).")
reviewer_option = click.option("--reviewer", "-r", envvar="STEWARD_REVIEWER", required=True,
                               help="Who is reviewing (or $STEWARD_REVIEWER).")
wait_option = click.option("--wait", default=30.0, show_default=True, help="Seconds to wait while another process holds the store.")
_PRIORITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def _open(config: str, store: str | None, wait: float):
    from modelsteward.review.locking import open_monitor

    return open_monitor(config, store, timeout=wait)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _short(x: datetime | None) -> str:
    return "" if x is None else f"{x:%Y-%m-%d %H:%M}"


@main.group()
def review() -> None:
    """Review queue: list, claim and decide routed predictions; dry-run a routing policy."""


@review.command("list")
@config_option
@store_option
@model_option
@wait_option
@click.option("--state", type=click.Choice(["pending", "in_review", "decided", "skipped"]), default=None, help="Only items in this state.")
@click.option("--overdue", is_flag=True, help="Only open items past their SLA.")
@click.option("--limit", default=50, show_default=True, help="At most this many items.")
@json_option
@handle_errors
def list_items(config: str, store: str | None, model: str | None, wait: float, state: str | None, overdue: bool, limit: int,
               as_json: bool) -> None:
    """List review items, most urgent first."""
    with _open(config, store, wait) as mon:
        queue = mon.review_queue(model)
        items = queue.items(state=state, overdue=overdue, limit=limit)
    now = _now()
    if as_json:
        _print_json([{**i.to_dict(), "overdue": i.overdue(now)} for i in items])
        return
    table = Table(title=f"Review items ({queue.model.name})", box=box.SIMPLE_HEAD)
    for c in ("item", "priority", "state", "suggestion", "conf", "why routed", "due", "holder"):
        table.add_column(c, overflow="fold")
    for i in items:
        due = _short(i.due_at) + (" [red]overdue[/]" if i.overdue(now) else "")
        table.add_row(i.item_id, f"[{_PRIORITY_STYLE[i.priority]}]{i.priority}[/]", i.state, i.suggestion or "—",
                      "—" if i.confidence is None else f"{i.confidence:.2f}", ", ".join(r["name"] for r in i.reasons), due, i.holder or "")
    out.print(table)
    if not items:
        out.print("no items")


def _print_item(item: Any) -> None:
    out.print(f"[bold]{item.item_id}[/]  prediction {item.prediction_id}  [{_PRIORITY_STYLE[item.priority]}]{item.priority}[/]"
              f"  due {_short(item.due_at)}  lease until {_short(item.lease_until)}", highlight=False)
    conf = "—" if item.confidence is None else f"{item.confidence:.3f}"
    out.print(f"  suggestion: [bold]{item.suggestion}[/] (confidence {conf}, model {item.model_version or '—'})", highlight=False)
    for r in item.reasons:
        out.print(f"  why: {r['name']} ({r['priority']}): {r['detail']}", highlight=False)
    out.print("  input: " + json.dumps({k: v for k, v in item.input.items() if v}, default=str), highlight=False, markup=False)


@review.command()
@config_option
@store_option
@model_option
@wait_option
@reviewer_option
@click.option("--item", "item_id", default=None, help="Claim this item (default: the most urgent pending one).")
@click.option("--queue", default=None, help="Only items of this queue.")
@json_option
@handle_errors
def claim(config: str, store: str | None, model: str | None, wait: float, reviewer: str, item_id: str | None, queue: str | None,
          as_json: bool) -> None:
    """Hold the next item for review (for the lease of `review.lease`) and show it."""
    with _open(config, store, wait) as mon:
        item = mon.review_queue(model).claim(reviewer, item_id=item_id, queue=queue)
    if as_json:
        _print_json({"ok": True, "item": item.to_dict() if item else None})
        return
    if item is None:
        out.print("nothing to review: the queue has no pending item for you")
        return
    _print_item(item)
    out.print(f"decide with: steward review decide {item.item_id} accept|correct|reject|skip --reviewer {reviewer}", highlight=False)


@review.command()
@click.argument("item_id")
@click.argument("decision", type=click.Choice(["accept", "correct", "reject", "skip"]))
@config_option
@store_option
@model_option
@wait_option
@reviewer_option
@click.option("--label", default=None, help="The right label (with `correct`).")
@click.option("--comment", default=None, help="Why (stored with the decision and the feedback).")
@json_option
@handle_errors
def decide(item_id: str, decision: str, config: str, store: str | None, model: str | None, wait: float, reviewer: str,
           label: str | None, comment: str | None, as_json: bool) -> None:
    """Decide an item you hold: accept, correct --label L, reject or skip."""
    with _open(config, store, wait) as mon:
        result = mon.review_queue(model).decide(item_id, reviewer, decision, label=label, comment=comment)
    if as_json:
        _print_json({"ok": True, "decision": result.to_dict()})
        return
    said = f"{result.decision}" + (f" ({result.label})" if result.label else "")
    again = " (already recorded)" if result.replayed else ""
    out.print(f"[green]✓[/] {result.item_id}: {said}{again}; item is now {result.item_state}; "
              f"{result.seconds_from_routing / 3600:.1f} h after routing"
              + (f"; expert feedback {result.feedback_id}" if result.feedback_id else ""), highlight=False)


@review.command()
@config_option
@store_option
@model_option
@wait_option
@json_option
@handle_errors
def stats(config: str, store: str | None, model: str | None, wait: float, as_json: bool) -> None:
    """Queue state, overdue items, time to decision, progress per reviewer and agreement."""
    from modelsteward.review.progress import queue_stats

    with _open(config, store, wait) as mon:
        queue = mon.review_queue(model)
        queue.expire_leases()
        data = queue_stats(mon.store, queue.model, _now())
    if as_json:
        _print_json(data)
        return
    s = data["states"]
    out.print(f"{data['model']}: {s['pending']} pending, {s['in_review']} in review, {s['decided']} decided, {s['skipped']} skipped; "
              f"[{'red' if data['overdue'] else 'green'}]{data['overdue']} overdue[/]", highlight=False)
    h = data["hours_to_decision"]
    if h["median"] is not None:
        out.print(f"time from routing to decision: median {h['median']:.2f} h, p90 {h['p90']:.2f} h", highlight=False)
    table = Table(title="Progress per reviewer", box=box.SIMPLE_HEAD)
    for c in ("reviewer", "holding", "decided", "accept", "correct", "reject", "skip", "expired", "median min"):
        table.add_column(c, justify="left" if c == "reviewer" else "right")
    for r in data["reviewers"]:
        m = r["median_minutes_to_decide"]
        table.add_row(r["reviewer"], *(str(r[k]) for k in ("holding", "decided", "accept", "correct", "reject", "skip", "expired")),
                      "—" if m is None else f"{m:.1f}")
    out.print(table)
    a = data["agreement"]
    if a["items"]:
        k = a["fleiss_kappa"]
        out.print(f"agreement over {a['fleiss_items']} items with {a['raters_per_item']} reviewers each: Fleiss' kappa "
                  + ("undefined (one category)" if k is None else f"{k:.3f}"), highlight=False)
        for p in a["pairs"]:
            ck = p["cohen_kappa"]
            out.print(f"  {p['reviewers'][0]} / {p['reviewers'][1]}: Cohen's kappa {'—' if ck is None else f'{ck:.3f}'} "
                      f"over {p['items']} items", highlight=False)


def _load_policy(path: Path) -> ReviewSettings:
    from pydantic import ValidationError as PydanticValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", file=str(path)) from None
    if isinstance(data, dict) and "review" in data:
        data = data["review"]
    if not isinstance(data, dict):
        raise ConfigError("expected a `review:` mapping (conditions, when, ...)", file=str(path))
    try:
        return ReviewSettings.model_validate(data)
    except PydanticValidationError as exc:
        raise config_error_from_pydantic(exc, str(path)) from None


@review.command("dry-run")
@config_option
@store_option
@model_option
@wait_option
@click.option("--policy", "policy_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML file with a `review:` mapping to try instead of the model's own.")
@click.option("--start", type=click.DateTime(), default=None, help="First prediction time (UTC) replayed.")
@click.option("--end", type=click.DateTime(), default=None, help="End (exclusive) of the replayed period.")
@json_option
@handle_errors
def dry_run_command(config: str, store: str | None, model: str | None, wait: float, policy_path: Path | None, start: datetime | None,
                    end: datetime | None, as_json: bool) -> None:
    """Replay a routing policy over logged predictions: the share that would go to people, by reason."""
    from modelsteward.review.dryrun import dry_run

    settings = _load_policy(policy_path) if policy_path is not None else None
    with _open(config, store, wait) as mon, _progress() as bar:
        task = bar.add_task("replaying", total=None)
        report = dry_run(mon.store, mon.model(model), settings, start=start, end=end,
                         progress=None if as_json else (lambda done, total: bar.update(task, completed=done, total=total)))
    if as_json:
        _print_json(report.to_dict())
        return
    share = "—" if report.share is None else f"{report.share:.1%}"
    out.print(f"{report.model}: {report.routed:,} of {report.total:,} predictions would go to people ({share})"
              + (f"; {report.excluded_shadow:,} challenger predictions left out" if report.excluded_shadow else ""), highlight=False)
    table = Table(title="By reason (a prediction may have several)", box=box.SIMPLE_HEAD)
    for c in ("reason", "routed", "share of traffic", "only reason", "matched"):
        table.add_column(c, justify="left" if c == "reason" else "right")
    for name, r in report.by_reason.items():
        table.add_row(name, f"{int(r['routed']):,}", f"{r['share']:.1%}", f"{int(r['only']):,}", f"{int(r['matched']):,}")
    out.print(table)
    if report.by_priority:
        out.print("by priority: " + ", ".join(f"{p} {n:,}" for p, n in sorted(report.by_priority.items())), highlight=False)
    if not report.total:
        err.print("no predictions in the period: log traffic first (steward ingest), or widen --start/--end")
