"""The Dispatcher: durable enqueue of notifications, grouping, and delivery of what is due.

``submit`` routes each notification by its labels (see :mod:`.routing`) and stores it, queued
on every group it belongs to; it only writes to the store, so it never waits on a receiver, and
it never raises: a problem is logged and monitoring goes on. Submitting the same notification
twice stores it once.

``deliver_due(now)`` then, per group (Alertmanager's rules):

- a new group waits ``group_wait`` after its first queued notification, to gather the rest of a
  bad window into one message; later news waits until ``group_interval`` after the last message;
- a notification that repeats what its incident was last notified as (firing again, the same
  escalation level, ...) is sent only once ``repeat_interval`` has passed, else it is dropped
  as a repeat; an incident still firing (or escalated) with no news is re-notified every
  ``repeat_interval``; acknowledged and resolved incidents are not;
- each message is sent to its receiver; a failure is recorded and retried after an exponential
  backoff (``retry.backoff`` × 2^(attempt−1), at most ``retry.max_backoff``) multiplied by a
  jitter factor in [1 − ``jitter``, 1], drawn from a generator seeded by ``seed``, the message
  and the attempt (so a seeded run is reproducible); after ``retry.max_attempts`` it is given up.
  A receiver that refuses the request itself (HTTP 4xx but 408/425/429) is given up at once.

>>> from datetime import datetime
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.store import DuckDBStore
>>> cfg = StewardConfig.model_validate({"models": [{"name": "t", "task": "binary", "labels": ["a", "b"]}],
...     "notifications": {"receivers": [{"name": "audit", "type": "log", "url": str(getfixture("tmp_path") / "n.jsonl")}],
...                       "route": {"receiver": "audit", "group_wait": "30s"}}})
>>> d = Dispatcher(DuckDBStore(), cfg, seed=0)
>>> t0 = datetime(2026, 1, 12)
>>> d.submit([Notification(kind="firing", incident_id=f"i{k}", fingerprint=f"f{k}", severity="high", summary="",
...           labels={"model": "t", "rule": "acc", "severity": "high"}, at=t0) for k in range(3)])
>>> d.deliver_due(t0).sent                                  # still inside group_wait
0
>>> r = d.deliver_due(datetime(2026, 1, 12, 0, 0, 30)); (r.messages_created, r.sent)   # three incidents, one message
(1, 1)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from modelsteward.alerts.notify.model import Notification, naive_utc, utcnow
from modelsteward.alerts.notify.outbox import GroupState, NewMessage, Outbox, StoredMessage
from modelsteward.alerts.notify.receivers import Message, Receiver, build_receiver, redact
from modelsteward.alerts.notify.render import render
from modelsteward.alerts.notify.routing import ResolvedRoute, find_route, group_id, group_labels, match_routes
from modelsteward.config import NotificationsConfig, RouteConfig, StewardConfig, parse_interval
from modelsteward.errors import DeliveryError, NotFoundError, StewardError

__all__ = ["DeliveryReport", "Dispatcher", "backoff_delay"]

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one :meth:`Dispatcher.deliver_due` call did."""

    messages_created: int = 0
    suppressed: int = 0
    sent: int = 0
    failed: int = 0
    retry_scheduled: int = 0
    gave_up: int = 0
    attempts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"messages_created": self.messages_created, "suppressed": self.suppressed, "sent": self.sent, "failed": self.failed,
                "retry_scheduled": self.retry_scheduled, "gave_up": self.gave_up, "attempts": self.attempts}


def backoff_delay(attempt: int, *, base: timedelta, cap: timedelta, jitter: float, rng: random.Random) -> timedelta:
    """Wait before retry number ``attempt`` (1 = after the first failure): base·2^(attempt−1), capped, times U[1−jitter, 1].

    >>> backoff_delay(3, base=timedelta(seconds=30), cap=timedelta(hours=1), jitter=0.0, rng=random.Random(0))
    datetime.timedelta(seconds=120)
    """
    raw = min(base.total_seconds() * 2 ** (attempt - 1), cap.total_seconds())
    return timedelta(seconds=raw * (1 - jitter * rng.random()))


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _news(n: Notification, last: Notification | None) -> bool:
    """Does ``n`` tell something its incident's last message did not?"""
    if last is None or last.kind != n.kind:
        return True
    return n.kind == "escalated" and (n.escalation_level, n.escalate_to) != (last.escalation_level, last.escalate_to)


class Dispatcher:
    """Routes notifications to receivers through a durable outbox in ``store``.

    Parameters
    ----------
    store
        The store holding the outbox (migration 0005).
    config
        The configuration; its ``notifications`` section names receivers and routes. Without it
        notifications are stored but go nowhere.
    dashboard_url
        Dashboard link for messages (overrides ``notifications.dashboard_url``).
    seed
        Seed of the retry jitter; None draws one from the system.
    receivers
        Receivers to use instead of those built from the configuration, by name (tests, embedding).
    """

    def __init__(self, store: Any, config: StewardConfig, *, dashboard_url: str | None = None, seed: int | None = None,
                 receivers: dict[str, Receiver] | None = None) -> None:
        self.store = store
        self.config = config
        self.settings: NotificationsConfig | None = config.notifications
        self.dashboard_url = dashboard_url or (self.settings.dashboard_url if self.settings else None)
        self.seed = seed if seed is not None else int.from_bytes(os.urandom(8), "big")
        self.outbox = Outbox(store)
        self._receivers = dict(receivers or {})
        self._lock = threading.Lock()

    # -- enqueue ----------------------------------------------------------------------------
    def routes_for(self, n: Notification) -> list[ResolvedRoute]:
        return match_routes(self.settings.route, n.labels) if self.settings else []

    def submit(self, notifications: Sequence[Notification]) -> None:
        """Enqueue durably (one transaction); never raises on delivery problems, never blocks on a receiver.

        Without a ``notifications`` section there is nowhere to send to: nothing is stored (the
        incidents keep their own history).
        """
        if self.settings is None:
            log.debug("no `notifications:` configured; %d notification(s) not queued", len(notifications))
            return
        events = []
        for n in notifications:
            try:
                routes = self.routes_for(n)
                queues = [(group_id(r, n.labels), r.path, r.receiver, group_labels(r, n.labels)) for r in routes]
                events.append((_digest(n.to_dict()), n, queues))
                if not routes:
                    log.warning("notification for incident %s (%s) matched no route; stored, not sent", n.incident_id, n.kind)
            except Exception as exc:  # noqa: BLE001 - monitoring must go on whatever happens here
                log.error("could not route the %s notification of incident %s: %s: %s", n.kind, n.incident_id, type(exc).__name__, exc)
        if not events:
            return
        try:
            self.outbox.add_events(events, utcnow())
        except Exception as exc:  # noqa: BLE001 - monitoring must go on whatever happens here
            log.error("could not enqueue %d notification(s) (incidents %s): %s: %s", len(events),
                      ", ".join(sorted({n.incident_id for _, n, _ in events})), type(exc).__name__, exc)

    # -- grouping ---------------------------------------------------------------------------
    def _route(self, group: GroupState) -> ResolvedRoute:
        root = self.settings.route if self.settings else RouteConfig(receiver=group.receiver)
        found = find_route(root, group.route)
        if found is None or found.receiver != group.receiver:  # the tree changed since: keep the group's receiver
            base = find_route(root, "route")
            assert base is not None
            return ResolvedRoute(group.route, group.receiver, base.group_by, base.group_wait, base.group_interval, base.repeat_interval)
        return found

    def _flush_groups(self, now: datetime, report: DeliveryReport) -> None:
        due: list[tuple[GroupState, ResolvedRoute]] = []
        for group, oldest in self.outbox.groups_with_waiting():
            route = self._route(group)
            # a new group waits group_wait from its first event; later news waits group_interval from the last message
            ready = now >= (oldest + route.group_wait if group.last_sent_at is None else group.last_sent_at + route.group_interval)
            if ready:
                due.append((group, route))
        if not due:
            return
        ids = [g.group_id for g, _ in due]
        waiting, notified = self.outbox.waiting(ids), self.outbox.last_notified(ids)
        suppressed: list[tuple[str, list[str]]] = []
        messages: list[NewMessage] = []
        for group, route in due:
            latest: dict[str, Notification] = {}
            for _, n in waiting[group.group_id]:
                latest.pop(n.incident_id, None)
                latest[n.incident_id] = n  # the latest event of each incident, in order of time
            last = notified[group.group_id]
            news = any(_news(n, last.get(i)) for i, n in latest.items())
            repeat_due = group.last_sent_at is None or now >= group.last_sent_at + route.repeat_interval
            event_ids = [e for e, _ in waiting[group.group_id]]
            if not news and not repeat_due:
                suppressed.append((group.group_id, event_ids))
                report.suppressed += len(event_ids)
            else:
                messages.append(NewMessage(_digest(group.group_id, now, event_ids), group, "new" if news else "repeat",
                                           list(latest.values()), event_ids))
        self.outbox.apply(suppressed, messages, now)
        report.messages_created += len(messages)

    def _remind(self, now: datetime, report: DeliveryReport) -> None:
        groups = [g for g in self.outbox.groups_with_open()
                  if g.last_sent_at is None or now >= g.last_sent_at + self._route(g).repeat_interval]
        if not groups:
            return
        notified = self.outbox.last_notified([g.group_id for g in groups])
        messages = []
        for group in groups:
            open_ = sorted((n for n in notified[group.group_id].values() if n.kind in ("firing", "escalated")),
                           key=lambda n: (n.at, n.incident_id))
            messages.append(NewMessage(_digest(group.group_id, now, "repeat"), group, "repeat", open_, []))
        self.outbox.apply([], messages, now)
        report.messages_created += len(messages)

    # -- delivery ---------------------------------------------------------------------------
    def receiver(self, name: str) -> Receiver:
        if name not in self._receivers:
            if self.settings is None:
                raise NotFoundError(f"unknown receiver {name!r}", hint="add a `notifications:` section to steward.yaml")
            self._receivers[name] = build_receiver(self.settings.receiver(name))
        return self._receivers[name]

    def message_for(self, stored: StoredMessage) -> Message:
        """Render a stored message for its receiver."""
        notifications = stored.notifications()
        group = stored.payload.get("group_labels") or {}
        title, text = render(notifications, "text", group=group, dashboard_url=self.dashboard_url)
        _, markdown = render(notifications, "markdown", group=group, dashboard_url=self.dashboard_url)
        _, html_ = render(notifications, "html", group=group, dashboard_url=self.dashboard_url)
        kinds = {n.kind for n in notifications}
        kind = next((k for k in ("firing", "escalated", "acknowledged", "resolved") if k in kinds), "firing")
        status = "firing" if kinds & {"firing", "escalated"} else kind
        payload = {"version": 1, "message_id": stored.message_id, "receiver": stored.receiver, "status": status,
                   "reason": stored.reason, "group_labels": group, "notifications": stored.payload.get("notifications", [])}
        if self.dashboard_url and notifications:
            from modelsteward.alerts.notify.render import dashboard_link

            payload["dashboard_url"] = dashboard_link(self.dashboard_url, notifications[0])
        return Message(title=title, text=text, markdown=markdown, html=html_, payload=payload, kind=kind)

    def _secrets(self) -> list[str]:
        """Values that must never be logged: the webhook secrets in the environment."""
        out = []
        for r in self.settings.receivers if self.settings else []:
            if r.secret_env and os.environ.get(r.secret_env):
                out.append(os.environ[r.secret_env])
        return out

    def _attempt(self, stored: StoredMessage, now: datetime, report: DeliveryReport) -> None:
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        permanent = False
        try:
            status_code = self.receiver(stored.receiver).send(self.message_for(stored))
        except DeliveryError as exc:
            error, status_code, permanent = exc.message, exc.status_code, exc.permanent
        except StewardError as exc:
            error, permanent = exc.message, True
        except Exception as exc:  # noqa: BLE001 - a broken receiver must not stop the others, nor monitoring
            error = f"{type(exc).__name__}: {exc}"
        duration_ms = (time.perf_counter() - started) * 1000
        next_at = None
        if error is not None:
            error = redact(error, self._secrets())
            attempt = stored.attempts + 1
            retry = self.settings.retry if self.settings else None
            if retry is not None and not permanent and attempt < retry.max_attempts:
                rng = random.Random(f"{self.seed}:{stored.message_id}:{attempt}")
                next_at = now + backoff_delay(attempt, base=parse_interval(retry.backoff), cap=parse_interval(retry.max_backoff),
                                              jitter=retry.jitter, rng=rng)
            log.warning("notification %s to receiver %s failed (attempt %d): %s%s", stored.message_id, stored.receiver, attempt,
                        error, f"; retry at {next_at:%Y-%m-%d %H:%M:%S}" if next_at else "; given up")
        status = self.outbox.record_attempt(stored, at=now, ok=error is None, status_code=status_code, error=error,
                                            duration_ms=duration_ms, next_attempt_at=next_at)
        report.attempts.append({"message_id": stored.message_id, "receiver": stored.receiver, "attempt": stored.attempts + 1,
                                "outcome": "sent" if error is None else "failed", "status_code": status_code, "error": error,
                                "next_attempt_at": next_at})
        if error is None:
            report.sent += 1
        else:
            report.failed += 1
            report.retry_scheduled += status == "retrying"
            report.gave_up += status == "failed"

    def deliver_due(self, now: datetime | None = None) -> DeliveryReport:
        """Make the messages that are due from their groups, and send every message that is due.

        Never raises for a receiver's failure: it is recorded and retried later.
        """
        now = naive_utc(now) or utcnow()
        report = DeliveryReport()
        with self._lock:
            self._flush_groups(now, report)
            self._remind(now, report)
            for stored in self.outbox.due_messages(now):
                self._attempt(stored, now, report)
        return report

    def send_test(self, receiver: str, now: datetime | None = None) -> DeliveryReport:
        """Send a sample firing notification to ``receiver`` straight away (for ``steward notify test``)."""
        now = naive_utc(now) or utcnow()
        self.receiver(receiver)  # unknown name: NotFoundError before anything is stored
        model = self.config.models[0].name
        sample = Notification(kind="firing", incident_id="test", fingerprint="test",
                              labels={"model": model, "rule": "test_notification", "severity": "info"}, severity="info",
                              summary="test notification from modelsteward: if you read this, the receiver works",
                              at=now)
        message_id = _digest("test", receiver, now)
        self.outbox.add_test_message(message_id, receiver, {"group_labels": {"model": model}, "reason": "test",
                                                            "notifications": [sample.to_dict()]}, now)
        report = DeliveryReport()
        stored = self.outbox.message(message_id)
        assert stored is not None
        with self._lock:
            self._attempt(stored, now, report)
        return report
