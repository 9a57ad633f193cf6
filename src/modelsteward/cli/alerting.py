"""``steward alerts`` and ``steward incidents``: alert states, incidents, acknowledgement, silences.

``steward alerts`` alone lists the fired alerts window by window, as before; its subcommands
work on alert states and incidents. Times (``--at``, ``--start``, ``--end``) default to now,
in UTC; give them to replay or script.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.table import Table

from modelsteward.cli import _monitor, _print_json, _sev_style, handle_errors, json_option, main, out
from modelsteward.config import SEVERITIES, parse_duration
from modelsteward.times import naive_utc, utcnow

__all__ = ["alerts", "incidents"]

config_option = click.option("-c", "--config", default="steward.yaml", envvar="STEWARD_CONFIG", show_default=True,
                             help="steward.yaml to use (default: ./steward.yaml, or $STEWARD_CONFIG).")
store_option = click.option("--store", default=None, help="Store path, overriding the configuration's `store`.")
model_option = click.option("-m", "--model", default=None, help="Model name (needed when the configuration has several).")
at_option = click.option("--at", "at", type=click.DateTime(), default=None, help="When it happens (default: now, UTC).")
by_option = click.option("--by", required=True, help="Who does it (stored with the incident).")


def _now(at: datetime | None) -> datetime:
    return utcnow() if at is None else naive_utc(at)


def _when(x: datetime | None) -> str:
    return "" if x is None else f"{x:%Y-%m-%d %H:%M}"


@main.group(invoke_without_command=True)
@config_option
@store_option
@model_option
@click.option("--severity", type=click.Choice(SEVERITIES), default="info", help="Show this severity and worse.")
@json_option
@click.pass_context
@handle_errors
def alerts(ctx: click.Context, config: str, store: str | None, model: str | None, severity: str, as_json: bool) -> None:
    """List fired alerts by window (alone), or work on alert states, incidents and silences (subcommands)."""
    if ctx.invoked_subcommand is not None:
        return
    with _monitor(config, store) as mon:
        rows = mon.alerts(model, min_severity=severity)
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Fired alerts")
    for c in ("window", "severity", "rule", "what fired", "owner", "SLA", "action"):
        table.add_column(c)
    for a in rows:
        table.add_row(f"{a['window_start']:%Y-%m-%d %H:%M}", f"[{_sev_style(a['severity'])}]{a['severity']}[/]", a["rule"],
                      a["message"], a["owner"] or "", a["response_sla"] or "", a["action"] or "")
    out.print(table)
    if not rows:
        out.print("no alerts")


@alerts.command("list")
@config_option
@store_option
@model_option
@click.option("--state", "states", multiple=True, type=click.Choice(["normal", "pending", "firing", "no_data", "resolved"]),
              help="Only alerts in this state (repeatable).")
@json_option
@handle_errors
def list_alerts(config: str, store: str | None, model: str | None, states: tuple[str, ...], as_json: bool) -> None:
    """The state of every alert (one per rule), with its open incident."""
    with _monitor(config, store) as mon:
        name = mon.model(model).name if model else None
        rows = mon.alerting.instances(model=name)
        open_by_fp = {i["fingerprint"]: i for i in mon.alerting.incidents(model=name, status="unresolved")}
    rows = [r for r in rows if not states or r["state"] in states]
    for r in rows:
        i = open_by_fp.get(r["fingerprint"])
        r["incident_id"], r["incident_status"] = (i["incident_id"], i["status"]) if i else (None, None)
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Alert states")
    for c in ("model", "rule", "state", "since", "last window", "value", "incident"):
        table.add_column(c)
    style = {"firing": "red", "no_data": "magenta", "pending": "yellow"}
    for r in rows:
        state = r["state"] + (" (flapping)" if r["flapping"] else "")
        table.add_row(r["model"], r["rule"], f"[{style.get(r['state'], '')}]{state}[/]" if r["state"] in style else state,
                      _when(r["since"]), _when(r["last_window_start"]), "—" if r["last_value"] is None else f"{r['last_value']:.4g}",
                      f"{r['incident_id']} ({r['incident_status']})" if r["incident_id"] else "")
    out.print(table)
    if not rows:
        out.print("no alert states yet: run [bold]steward check[/]")


@alerts.command("ack")
@click.argument("incident_id")
@config_option
@store_option
@by_option
@click.option("--comment", default=None, help="What you are doing about it.")
@at_option
@json_option
@handle_errors
def ack(incident_id: str, config: str, store: str | None, by: str, comment: str | None, at: datetime | None, as_json: bool) -> None:
    """Acknowledge an incident: you are on it (it stops escalating)."""
    with _monitor(config, store) as mon:
        row = mon.alerting.acknowledge(incident_id, by=by, comment=comment, now=_now(at))
    if as_json:
        _print_json({"ok": True, "incident": row})
    else:
        out.print(f"[green]✓[/] {incident_id} acknowledged by {row['acknowledged_by']} at {_when(row['acknowledged_at'])}", highlight=False)


@alerts.command("resolve")
@click.argument("incident_id")
@config_option
@store_option
@by_option
@click.option("--comment", default=None, help="What fixed it.")
@at_option
@json_option
@handle_errors
def resolve(incident_id: str, config: str, store: str | None, by: str, comment: str | None, at: datetime | None, as_json: bool) -> None:
    """Resolve an incident by hand (if the alert still fires in a later window, a new incident opens)."""
    with _monitor(config, store) as mon:
        row = mon.alerting.resolve(incident_id, by=by, comment=comment, now=_now(at))
    if as_json:
        _print_json({"ok": True, "incident": row})
    else:
        out.print(f"[green]✓[/] {incident_id} resolved by {row['resolved_by']} at {_when(row['resolved_at'])}", highlight=False)


@alerts.command("silence")
@click.argument("matchers", nargs=-1, required=True)
@config_option
@store_option
@by_option
@click.option("--comment", required=True, help="Why (stored with the silence).")
@click.option("--start", type=click.DateTime(), default=None, help="When it starts (default: now, UTC).")
@click.option("--end", type=click.DateTime(), default=None, help="When it ends.")
@click.option("--for", "duration", default=None, help="How long, e.g. 2h or 3d (instead of --end).")
@json_option
@handle_errors
def silence(matchers: tuple[str, ...], config: str, store: str | None, by: str, comment: str, start: datetime | None,
            end: datetime | None, duration: str | None, as_json: bool) -> None:
    """Silence the alerts matching every MATCHER (name=value, name!=value, name=~regex, name!~regex)."""
    from modelsteward.errors import ConfigError

    begin = _now(start)
    if (end is None) == (duration is None):
        raise ConfigError("give either --end or --for", hint="e.g. --for 2h")
    try:
        finish = _now(end) if end is not None else begin + parse_duration(duration or "")
    except ValueError as exc:
        raise ConfigError(f"--for: {exc}") from None
    with _monitor(config, store) as mon:
        s = mon.alerting.silence(matchers, starts_at=begin, ends_at=finish, created_by=by, comment=comment, now=_now(None))
    if as_json:
        _print_json({"ok": True, "silence": s.to_dict(_now(None))})
    else:
        out.print(f"[green]✓[/] {s.silence_id}: {' '.join(map(str, s.matchers))} silenced from {_when(s.starts_at)} to {_when(s.ends_at)}",
                  highlight=False)


@alerts.command("silences")
@config_option
@store_option
@click.option("--all", "show_all", is_flag=True, help="Include expired silences.")
@at_option
@json_option
@handle_errors
def silences(config: str, store: str | None, show_all: bool, at: datetime | None, as_json: bool) -> None:
    """List silences: pending, active (and expired with --all)."""
    now = _now(at)
    with _monitor(config, store) as mon:
        rows = [s.to_dict(now) for s in mon.alerting.silences()]
    rows = [r for r in rows if show_all or r["status"] != "expired"]
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Silences")
    for c in ("id", "status", "matchers", "starts", "ends", "by", "comment"):
        table.add_column(c)
    for r in rows:
        table.add_row(r["silence_id"], r["status"], " ".join(r["matchers"]), _when(r["starts_at"]), _when(r["ends_at"]),
                      r["created_by"], r["comment"])
    out.print(table)


@alerts.command("unsilence")
@click.argument("silence_id")
@config_option
@store_option
@at_option
@json_option
@handle_errors
def unsilence(silence_id: str, config: str, store: str | None, at: datetime | None, as_json: bool) -> None:
    """Expire a silence now; what it held back is sent."""
    with _monitor(config, store) as mon:
        s, sent = mon.alerting.unsilence(silence_id, now=_now(at))
    if as_json:
        _print_json({"ok": True, "silence": s.to_dict(_now(at)), "notifications": [n.to_dict() for n in sent]})
    else:
        out.print(f"[green]✓[/] {silence_id} expired; {len(sent)} notification(s) it held back sent", highlight=False)


@alerts.command("tick")
@config_option
@store_option
@at_option
@json_option
@handle_errors
def tick(config: str, store: str | None, at: datetime | None, as_json: bool) -> None:
    """Escalate incidents past their SLA and send what ended silences held back (run it from cron)."""
    with _monitor(config, store) as mon:
        sent = mon.alerting.tick(now=_now(at))
    if as_json:
        _print_json({"ok": True, "notifications": [n.to_dict() for n in sent]})
    else:
        out.print(f"{len(sent)} notification(s)" + "".join(f"\n  {n.kind} {n.incident_id}" for n in sent), highlight=False)


@main.command()
@click.argument("incident_id", required=False)
@config_option
@store_option
@model_option
@click.option("--status", type=click.Choice(["open", "acknowledged", "resolved", "unresolved"]), default=None,
              help="Only incidents in this status.")
@json_option
@handle_errors
def incidents(incident_id: str | None, config: str, store: str | None, model: str | None, status: str | None, as_json: bool) -> None:
    """List incidents, or show one incident's history (every event and alert transition, with reasons)."""
    with _monitor(config, store) as mon:
        if incident_id is not None:
            one = mon.alerting.incident(incident_id)
            _show_incident(one, as_json)
            return
        rows = mon.alerting.incidents(model=mon.model(model).name if model else None, status=status)
    if as_json:
        _print_json(rows)
        return
    table = Table(title="Incidents")
    for c in ("id", "status", "severity", "model/rule", "opened", "windows", "level", "summary"):
        table.add_column(c)
    for r in rows:
        table.add_row(r["incident_id"], r["status"], f"[{_sev_style(r['severity'])}]{r['severity']}[/]", f"{r['model']}/{r['rule']}",
                      _when(r["opened_at"]), str(r["fire_count"]), str(r["escalation_level"]), r["summary"])
    out.print(table)
    if not rows:
        out.print("no incidents")


def _show_incident(one: dict[str, Any], as_json: bool) -> None:
    from modelsteward.alerts.escalation import sla_note

    if as_json:
        _print_json(one)
        return
    out.print(f"[bold]{one['incident_id']}[/] {one['status']} — {one['summary']}", highlight=False)
    out.print(f"  severity {one['severity']}; owner {one['owner'] or '(none)'}; SLA {sla_note(one['response_sla'])}; "
              f"escalation step {one['escalation_level']}; runbook {one['runbook'] or '(none)'}", highlight=False)
    if one["acknowledged_by"]:
        out.print(f"  acknowledged by {one['acknowledged_by']} at {_when(one['acknowledged_at'])}: {one['ack_comment'] or ''}",
                  highlight=False)
    table = Table(title="History")
    for c in ("when", "what", "who", "reason"):
        table.add_column(c)
    rows = [(t["window_end"], f"{t['from_state']} → {t['to_state']}" + (" (held)" if t["held"] else ""), "", t["reason"])
            for t in one["transitions"]]
    rows += [(e["occurred_at"], e["kind"] + (" (silenced)" if e["silenced_by"] else ""), e["actor"] or "", e["reason"])
             for e in one["events"]]
    for when, what, who, reason in sorted(rows, key=lambda r: r[0]):
        table.add_row(_when(when), what, who, reason)
    out.print(table)
