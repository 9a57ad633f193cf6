"""The alerting engine: window evaluations in, alert states, incidents and notifications out.

:meth:`AlertEngine.process` takes a model's rule evaluations (from the monitoring pass), runs
each alert's state machine (:mod:`modelsteward.alerts.state`) over the windows it has not seen,
opens, updates and resolves incidents, and then :meth:`AlertEngine.tick` escalates what is
overdue and sends what silences held back. Every notification goes to the ``notifier`` (the
notification dispatcher, or anything with ``submit(notifications)``) after the state is
committed.

What a silence does: while a silence matches an incident's labels, its transitions and events
are recorded but no notification goes out and it does not escalate. When the silence ends,
the incident sends what it still owes, once: *firing* if it is still open and nobody was told,
*resolved* if it was announced as firing and resolved meanwhile. (An incident that opened and
resolved entirely inside a silence sends nothing: nobody was told it began.) The SLA clock of
an incident starts when its firing notification goes out.

Times: alert states move at the ends of windows; incident events happen at ``now``, passed
in by the caller (``Monitor.check`` passes its ``until``).

>>> from datetime import datetime, timedelta
>>> from modelsteward.alerts.rules import evaluate_rule
>>> from modelsteward.store.duckdb_store import DuckDBStore
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"],
...     "alerts": [{"name": "acc", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "response_sla": "1h"}]}]})
>>> class Printer:
...     def submit(self, notifications):
...         for n in notifications:
...             print(n.kind, n.escalation_level, n.at)
>>> engine = AlertEngine(DuckDBStore(":memory:"), cfg, notifier=Printer())
>>> model, t0 = cfg.models[0], datetime(2026, 1, 5)
>>> history = [(t0, t0 + timedelta(weeks=1), {"accuracy": 0.80})]
>>> _ = engine.process(model, evaluate_rule(model.alerts[0], history, {}), now=t0 + timedelta(weeks=1))
firing None 2026-01-12 00:00:00
>>> _ = engine.tick(now=t0 + timedelta(weeks=1, hours=1))   # nobody acknowledged within the 1h SLA
escalated 2 2026-01-12 01:00:00
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from modelsteward.alerts import incidents as inc
from modelsteward.alerts.escalation import due_escalations, first_responder
from modelsteward.alerts.notify import Notification
from modelsteward.alerts.rules import Evaluation, numeric_threshold
from modelsteward.alerts.silences import Silence, active_silences, add_silence, expire_silence, list_silences
from modelsteward.alerts.state import AlertState, Observation, Timers, Transition, step
from modelsteward.config import AlertRule, ModelConfig, StewardConfig, parse_duration
from modelsteward.errors import ConfigError
from modelsteward.metrics.window import WINDOW_LENGTH

__all__ = ["AlertEngine", "Notifier", "timers_for"]



class Notifier(Protocol):
    def submit(self, notifications: Sequence[Notification]) -> None: ...


def timers_for(cfg: ModelConfig, rule: AlertRule) -> Timers:
    flap = cfg.alerting.flapping
    period = parse_duration(flap.period) if flap.period else 10 * WINDOW_LENGTH[cfg.window]
    return Timers(keep_firing_for=parse_duration(rule.keep_firing_for) if rule.keep_firing_for else None,
                  no_data=rule.no_data, max_flips=flap.max_flips if flap.enabled else None, flap_period=period)


def _load_state(row: Mapping[str, Any] | None) -> AlertState:
    if row is None:
        return AlertState()
    return AlertState(row["state"], row["raw_state"], row["since"], row["clear_since"], tuple(row["flips"]),
                      bool(row["flapping"]), row["last_window_end"])


def _summary(cfg: ModelConfig, rule: AlertRule, e: Evaluation, state: str) -> str:
    if state == "no_data" or e.value is None:
        return f"{cfg.name}/{rule.name}: no value of {e.metric} in the window from {e.window_start:%Y-%m-%d %H:%M}"
    return f"{cfg.name}/{rule.name}: {e.metric} = {e.value:.4g} (fires when {e.threshold})"


def _new_incident(cfg: ModelConfig, rule: AlertRule, labels: dict[str, str], fp: str, e: Evaluation, state: str, summary: str,
                  threshold: float | None, now: datetime) -> dict[str, Any]:
    return {
        "incident_id": inc.new_incident_id(), "fingerprint": fp, "model": cfg.name, "rule": rule.name, "labels": labels,
        "severity": rule.severity, "summary": summary, "status": "open", "alert_state": state, "started_at": e.window_end,
        "opened_at": now, "updated_at": now, "window_start": e.window_start, "window_end": e.window_end, "value": e.value,
        "threshold": threshold, "fire_count": 1, "owner": rule.owner or cfg.owner, "runbook": rule.runbook,
        "response_sla": rule.response_sla, "acknowledged_at": None, "acknowledged_by": None, "ack_comment": None,
        "resolved_at": None, "resolved_by": None, "resolve_comment": None, "escalation_level": 1, "escalated_at": now,
        "notified_firing": False, "notified_resolved": False,
    }


class AlertEngine:
    """Alert states, incidents, silences and escalation over a store (see the module docstring)."""

    def __init__(self, store: Any, config: StewardConfig, *, notifier: Notifier | None = None) -> None:
        self.store = store
        self.config = config
        self.notifier = notifier

    # -- the monitoring pass ------------------------------------------------------------------
    def process(self, cfg: ModelConfig, evaluations: Iterable[Evaluation], *, now: datetime) -> list[Notification]:
        """Take in the windows of ``evaluations`` each alert has not seen yet; returns the notifications sent."""
        by_rule: dict[str, list[Evaluation]] = {}
        for e in evaluations:
            by_rule.setdefault(e.rule, []).append(e)
        outbox: list[Notification] = []
        work = inc.Changes()
        with self.store.transaction() as con:
            silences = list_silences(con)
            states = {r["fingerprint"]: r for r in inc.list_instances(con, model=cfg.name)}
            live = _live_incidents(con, cfg.name)
            open_incidents = {r["fingerprint"]: r for r in live if r["status"] != "resolved"}
            for rule in cfg.alerts:
                evals = sorted(by_rule.get(rule.name, []), key=lambda e: e.window_start)
                self._process_rule(work, cfg, rule, evals, now, silences, states, open_incidents, outbox)
            # incidents as they stand now: the stored ones, then the ones this pass touched
            current = {r["incident_id"]: r for r in live} | work.incidents
            outbox += self._tick(work, list(current.values()), silences, now=now)
            work.flush(con)
        self._submit(outbox)
        return outbox

    def _process_rule(self, work: inc.Changes, cfg: ModelConfig, rule: AlertRule, evals: list[Evaluation], now: datetime,
                      silences: list[Silence], states: dict[str, dict[str, Any]], open_incidents: dict[str, dict[str, Any]],
                      outbox: list[Notification]) -> None:
        labels = inc.alert_labels(cfg, rule)
        fp = inc.fingerprint(inc.identity_labels(cfg, rule))
        row = states.get(fp)
        last = row["last_window_start"] if row else None
        fresh = [e for e in evals if last is None or e.window_start > last]
        if not fresh:
            return
        state = _load_state(row)
        timers = timers_for(cfg, rule)
        muted = active_silences(silences, labels, now)
        silenced_by = muted[0].silence_id if muted else None
        first_look = row is None
        for i, e in enumerate(fresh):
            before = state
            state, changes = step(state, Observation(e.window_end, e.window_start, e.holds, e.fired, e.value, e.threshold), timers)
            if first_look and i < len(fresh) - 1:
                # An alert seen for the first time over past windows (a new rule, a new install over
                # old data): its history is recorded, but only where it stands now can open an incident.
                work.transitions += [(fp, cfg.name, rule.name, t.at, t.window_start, t.from_state, t.to_state, t.reason, t.value,
                                      t.held, t.flapping, None, None, now) for t in changes]
                continue
            current = self._apply(work, cfg, rule, labels, fp, e, before, state, changes, now, silenced_by, open_incidents.get(fp),
                                  outbox, first_look=first_look)
            if current is not None and current["status"] != "resolved":
                open_incidents[fp] = current
            else:
                open_incidents.pop(fp, None)
            iid = current["incident_id"] if current is not None else None
            work.transitions += [(fp, cfg.name, rule.name, t.at, t.window_start, t.from_state, t.to_state, t.reason, t.value,
                                  t.held, t.flapping, silenced_by, iid, now) for t in changes]
        last_e = fresh[-1]
        work.instances.append((fp, cfg.name, rule.name, json.dumps(labels), state.state, state.raw, state.since, state.clear_since,
                               json.dumps([f.isoformat() for f in state.flips]), state.flapping, last_e.window_start,
                               last_e.window_end, last_e.value, now))

    def _apply(self, work: inc.Changes, cfg: ModelConfig, rule: AlertRule, labels: dict[str, str], fp: str, e: Evaluation,
               before: AlertState, after: AlertState, changes: list[Transition], now: datetime, silenced_by: str | None,
               current: dict[str, Any] | None, outbox: list[Notification], *, first_look: bool = False) -> dict[str, Any] | None:
        """Open, update or resolve the incident for one window; returns the incident concerned (None when there is none)."""
        shown = [t for t in changes if not t.held and t.from_state != t.to_state]
        if after.alerting:
            summary = _summary(cfg, rule, e, after.state)
            threshold = numeric_threshold(rule, e.value, e.baseline)
            if current is None:
                reopened = before.alerting and not shown and not first_look
                if reopened and not e.holds and after.state == "firing":
                    return None  # kept firing (keep_firing_for, or held as flapping) after a resolve by hand: not new
                current = work.touch(_new_incident(cfg, rule, labels, fp, e, after.state, summary, threshold, now))
                current["started_at"] = after.since or e.window_end
                why = (shown[-1].reason if shown else changes[-1].reason if changes else "alerting")
                if reopened:
                    why = f"still {after.state} after the last incident was resolved by hand"
                elif first_look and before.alerting and not shown:
                    why = f"{after.state} since {after.since:%Y-%m-%d %H:%M} (found on the alert's first evaluation over past windows)"
                work.event(current["incident_id"], at=now, kind="opened", reason=why)
                self._flapping_event(work, current["incident_id"], before, after, changes, now)
                self._notify(work, current, "firing", now=now, reason=why, silenced_by=silenced_by, outbox=outbox)
                return current
            current = work.touch(current)
            current.update(alert_state=after.state, summary=summary, window_start=e.window_start, window_end=e.window_end,
                           value=e.value, threshold=threshold, fire_count=current["fire_count"] + 1, updated_at=now)
            what = "; ".join(t.reason for t in changes if not t.reason.startswith("flapping:")) or f"still {after.state}: {summary}"
            work.event(current["incident_id"], at=now, kind="updated", reason=what)
            self._flapping_event(work, current["incident_id"], before, after, changes, now)
            return current
        if current is not None and shown and before.alerting:
            current = work.touch(current)
            current.update(status="resolved", alert_state="resolved", resolved_at=now, updated_at=now, value=e.value)
            reason = shown[-1].reason
            self._flapping_event(work, current["incident_id"], before, after, changes, now)
            work.event(current["incident_id"], at=now, kind="resolved", reason=reason)
            self._notify(work, current, "resolved", now=now, reason=reason, silenced_by=silenced_by, outbox=outbox)
            return current
        return None

    @staticmethod
    def _flapping_event(work: inc.Changes, iid: str, before: AlertState, after: AlertState, changes: list[Transition],
                        now: datetime) -> None:
        if after.flapping and not before.flapping:
            reason = next((t.reason for t in changes if t.reason.startswith("flapping:")), "flapping")
            work.event(iid, at=now, kind="flapping", reason=reason)
        elif before.flapping and not after.flapping:
            work.event(iid, at=now, kind="flapping_ended", reason=changes[-1].reason if changes else "stopped flapping")

    def _notify(self, work: inc.Changes, row: dict[str, Any], kind: str, *, now: datetime, reason: str, silenced_by: str | None,
                outbox: list[Notification], actor: str | None = None, comment: str | None = None,
                level: int | None = None, escalate_to: str | None = None) -> bool:
        """Hand one notification to the outbox unless a silence holds it; record either way."""
        iid = row["incident_id"]
        work.touch(row)
        if kind == "resolved" and not row["notified_firing"]:
            work.event(iid, at=now, kind="not_notified", reason="resolved before anyone was told it fired (silenced)")
            row["notified_resolved"] = True
            return False
        if silenced_by is not None:
            work.event(iid, at=now, kind=f"{kind}_silenced", reason=reason, silenced_by=silenced_by, level=level)
            return False
        cfg = self.config.model(row["model"])
        to = {"escalated": escalate_to, "firing": first_responder(cfg.alerting, row["owner"])}.get(kind)
        outbox.append(Notification(
            kind=kind, incident_id=iid, fingerprint=row["fingerprint"], labels=row["labels"], severity=row["severity"],  # type: ignore[arg-type]
            summary=row["summary"], value=row["value"], threshold=row["threshold"], window_start=row["window_start"],
            window_end=row["window_end"], owner=row["owner"], runbook=row["runbook"], response_sla=row["response_sla"],
            escalation_level=level if kind == "escalated" else None, escalate_to=to, actor=actor, comment=comment, at=now))
        work.event(iid, at=now, kind=f"notified_{kind}", reason=reason, actor=actor, level=level, notified=True)
        if kind == "firing":  # the SLA clock starts when someone is told
            row.update(notified_firing=True, escalated_at=now)
        elif kind == "resolved":
            row["notified_resolved"] = True
        return True

    # -- time passing ---------------------------------------------------------------------------
    def tick(self, *, now: datetime, model: str | None = None) -> list[Notification]:
        """Send what ended silences held back, and escalate incidents past their SLA, as of ``now``."""
        work = inc.Changes()
        with self.store.transaction() as con:
            outbox = self._tick(work, _live_incidents(con, model), list_silences(con), now=now)
            work.flush(con)
        self._submit(outbox)
        return outbox

    def _tick(self, work: inc.Changes, live: list[dict[str, Any]], silences: list[Silence], *, now: datetime) -> list[Notification]:
        """``live``: the unresolved incidents and those that owe a resolved notification."""
        outbox: list[Notification] = []
        live = sorted(live, key=lambda r: (r["opened_at"], r["incident_id"]))
        for row in live:
            owes_firing = row["status"] != "resolved" and not row["notified_firing"]
            owes_resolved = row["status"] == "resolved" and row["notified_firing"] and not row["notified_resolved"]
            if not (owes_firing or owes_resolved) or not self._configured(row["model"]):
                continue
            if active_silences(silences, row["labels"], now):
                continue
            self._notify(work, row, "firing" if owes_firing else "resolved", now=now,
                         reason="the silence that held it back has ended", silenced_by=None, outbox=outbox)
        for row in live:
            if row["status"] == "resolved":
                continue
            if not self._configured(row["model"]) or not row["notified_firing"]:
                continue
            cfg = self.config.model(row["model"])
            if row["status"] == "acknowledged" and cfg.alerting.escalate_until == "acknowledged":
                continue
            if active_silences(silences, row["labels"], now):
                continue
            for esc in due_escalations(cfg.alerting, level=row["escalation_level"], reached_at=row["escalated_at"],
                                       sla=row["response_sla"], owner=row["owner"], now=now):
                work.touch(row).update(escalation_level=esc.level, escalated_at=esc.at, updated_at=now)
                work.event(row["incident_id"], at=esc.at, kind="escalated", reason=esc.reason, level=esc.level)
                self._notify(work, row, "escalated", now=esc.at, reason=esc.reason, silenced_by=None, outbox=outbox,
                             level=esc.level, escalate_to=esc.who)
        return outbox

    def _configured(self, model: str) -> bool:
        return any(m.name == model for m in self.config.models)

    def _submit(self, outbox: list[Notification]) -> None:
        if outbox and self.notifier is not None:
            self.notifier.submit(outbox)

    # -- people ---------------------------------------------------------------------------------
    def acknowledge(self, incident_id: str, *, by: str, now: datetime, comment: str | None = None) -> dict[str, Any]:
        """Acknowledge an open incident: it stops escalating (unless ``escalate_until: resolved``)."""
        _require_person(by, "acknowledge")
        outbox: list[Notification] = []
        work = inc.Changes()
        with self.store.transaction() as con:
            row = inc.get_incident(con, incident_id)
            inc.require_unresolved(row, "acknowledged")
            if row["status"] == "acknowledged":
                return row
            work.touch(row).update(status="acknowledged", acknowledged_at=now, acknowledged_by=by, ack_comment=comment, updated_at=now)
            reason = f"acknowledged by {by}" + (f": {comment}" if comment else "")
            work.event(incident_id, at=now, kind="acknowledged", actor=by, reason=reason)
            self._notify(work, row, "acknowledged", now=now, reason=reason, silenced_by=self._silenced(con, row, now),
                         outbox=outbox, actor=by, comment=comment)
            work.flush(con)
        self._submit(outbox)
        return row

    def resolve(self, incident_id: str, *, by: str, now: datetime, comment: str | None = None) -> dict[str, Any]:
        """Resolve an incident by hand. If the alert still fires in a later window, a new incident opens."""
        _require_person(by, "resolve")
        outbox: list[Notification] = []
        work = inc.Changes()
        with self.store.transaction() as con:
            row = inc.get_incident(con, incident_id)
            inc.require_unresolved(row, "resolved again")
            work.touch(row).update(status="resolved", resolved_at=now, resolved_by=by, resolve_comment=comment, updated_at=now)
            reason = f"resolved by hand by {by}" + (f": {comment}" if comment else "")
            work.event(incident_id, at=now, kind="resolved", actor=by, reason=reason)
            self._notify(work, row, "resolved", now=now, reason=reason, silenced_by=self._silenced(con, row, now),
                         outbox=outbox, actor=by, comment=comment)
            work.flush(con)
        self._submit(outbox)
        return row

    def _silenced(self, con: Any, row: Mapping[str, Any], now: datetime) -> str | None:
        muted = active_silences(list_silences(con), row["labels"], now)
        return muted[0].silence_id if muted else None

    def silence(self, matchers: Sequence[str], *, starts_at: datetime, ends_at: datetime, created_by: str, comment: str,
                now: datetime) -> Silence:
        """Add a silence (see :mod:`modelsteward.alerts.silences`)."""
        return add_silence(self.store, Silence.create(matchers, starts_at=starts_at, ends_at=ends_at, created_by=created_by,
                                                      comment=comment), now=now)

    def unsilence(self, silence_id: str, *, now: datetime) -> tuple[Silence, list[Notification]]:
        """Expire a silence now, and send what it held back."""
        s = expire_silence(self.store, silence_id, now=now)
        return s, self.tick(now=now)

    def silences(self) -> list[Silence]:
        return list_silences(self.store)

    # -- reading --------------------------------------------------------------------------------
    def incidents(self, *, model: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
        return inc.list_incidents(self.store, model=model, status=status)

    def incident(self, incident_id: str) -> dict[str, Any]:
        """One incident with its events and the alert transitions recorded under it."""
        con = self.store
        row = inc.get_incident(con, incident_id)
        return {**row, "events": inc.incident_events(con, incident_id), "transitions": inc.transitions(con, incident_id=incident_id)}

    def instances(self, *, model: str | None = None) -> list[dict[str, Any]]:
        return inc.list_instances(self.store, model=model)

    def transitions(self, *, fingerprint: str | None = None) -> list[dict[str, Any]]:
        return inc.transitions(self.store, fingerprint=fingerprint)


def _require_person(by: str, what: str) -> None:
    if not by or not by.strip():
        raise ConfigError(f"say who does the {what}", hint="pass --by NAME")


def _live_incidents(con: Any, model: str | None) -> list[dict[str, Any]]:
    """Unresolved incidents, and resolved ones that still owe their resolved notification (one query)."""
    sql = "SELECT * FROM incidents WHERE (status <> 'resolved' OR (notified_firing AND NOT notified_resolved))"
    params: list[Any] = []
    if model is not None:
        sql += " AND model = ?"
        params.append(model)
    return [inc._decode(r) for r in inc._dicts(con, sql, params)]
