"""``steward notify``: test a receiver, deliver what is due, read the delivery log."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from modelsteward.cli import _print_json, config_option, handle_errors, json_option, main, out, store_option

__all__ = ["notify"]


def _dispatcher(config: str, store: str | None) -> Any:
    from modelsteward.alerts.notify import Dispatcher
    from modelsteward.config import load_config
    from modelsteward.errors import ConfigError
    from modelsteward.store import open_store

    cfg = load_config(config)
    if cfg.notifications is None:
        raise ConfigError("no `notifications:` section", file=config,
                          hint="add receivers and a route (see docs/configuration.md, section `notifications`)")
    return Dispatcher(open_store(store or cfg.store), cfg)


def _when(x: datetime | None) -> str:
    return "" if x is None else f"{x:%Y-%m-%d %H:%M:%S}"


def _print_report(report: Any, as_json: bool) -> None:
    if as_json:
        _print_json({"ok": report.failed == 0, **report.to_dict()})
        return
    out.print(f"messages made: {report.messages_created} · sent: {report.sent} · failed: {report.failed} "
              f"(retry scheduled: {report.retry_scheduled}, given up: {report.gave_up}) · repeats dropped: {report.suppressed}",
              highlight=False)
    for a in report.attempts:
        if a["outcome"] != "sent":
            retry = f"; retry at {_when(a['next_attempt_at'])}" if a["next_attempt_at"] else "; given up"
            out.print(f"  [red]failed[/] {a['receiver']} (attempt {a['attempt']}): {a['error']}{retry}", highlight=False,
                      markup=True)


@main.group()
def notify() -> None:
    """Notifications: test a receiver, deliver what is due, read the delivery log."""


@notify.command("test")
@click.argument("receiver")
@config_option
@store_option
@json_option
@handle_errors
def test_(receiver: str, config: str, store: str | None, as_json: bool) -> None:
    """Send a sample notification to RECEIVER now; exit code 1 if it was not delivered."""
    report = _dispatcher(config, store).send_test(receiver)
    _print_report(report, as_json)
    if report.failed:
        sys.exit(1)


@notify.command()
@config_option
@store_option
@json_option
@handle_errors
def deliver(config: str, store: str | None, as_json: bool) -> None:
    """Group what is due into messages, send them and retry failed ones whose backoff is over.

    Run it every minute (cron, systemd timer) or let the server do it.
    """
    _print_report(_dispatcher(config, store).deliver_due(), as_json)


@notify.command("log")
@config_option
@store_option
@click.option("--status", type=click.Choice(["pending", "retrying", "sent", "failed"]), default=None, help="Only messages in this state.")
@click.option("--limit", default=50, show_default=True, help="Most recent messages shown.")
@click.option("--attempts", "message_id", default=None, metavar="MESSAGE_ID", help="Show every attempt of one message.")
@json_option
@handle_errors
def log_(config: str, store: str | None, status: str | None, limit: int, message_id: str | None, as_json: bool) -> None:
    """The delivery log: each message with its outcome, attempts, next attempt and last error."""
    outbox = _dispatcher(config, store).outbox
    if message_id:
        rows = outbox.attempts(message_id)
        if as_json:
            _print_json(rows)
            return
        table = Table("attempt", "at", "receiver", "outcome", "HTTP", "ms", "error")
        for r in rows:
            table.add_row(str(r["attempt"]), _when(r["attempted_at"]), r["receiver"], r["outcome"], str(r["status_code"] or ""),
                          f"{r['duration_ms']:.0f}", r["error"] or "")
        out.print(table)
        return
    rows = outbox.messages(status=status, limit=limit)
    if as_json:
        _print_json(rows)
        return
    table = Table("message", "created", "receiver", "reason", "notes", "status", "attempts", "next attempt", "last error")
    for r in rows:
        style = {"sent": "green", "failed": "red", "retrying": "yellow"}.get(r["status"], "")
        table.add_row(r["message_id"], _when(r["created_at"]), r["receiver"], r["reason"], str(r["notifications"]),
                      f"[{style}]{r['status']}[/]" if style else r["status"], str(r["attempts"]), _when(r["next_attempt_at"]),
                      r["last_error"] or "")
    out.print(table)
