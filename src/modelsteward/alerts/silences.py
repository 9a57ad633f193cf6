"""Silences: mute the notifications of the alerts whose labels match, for a while.

A silence has label matchers written as Alertmanager writes them (``name=value``,
``name!=value``, ``name=~regex``, ``name!~regex``; a regular expression must match the whole
value), a start, an end, an author and a comment. It is *pending* before its start, *active*
until its end, then *expired* (or expired early by hand). All matchers must match. A label the
alert lacks reads as the empty string, so ``team!=support`` matches an alert without a team.

A silenced alert still records every transition; only its notifications wait. When the
silence ends, the alert's incident sends what it still owes, once (see
:mod:`modelsteward.alerts.engine`).

>>> from datetime import datetime
>>> s = Silence.create(["model=tickets", "rule=~accuracy_.*", "severity!=info"], starts_at=datetime(2026, 1, 1),
...                    ends_at=datetime(2026, 1, 2), created_by="ana", comment="deploying v2", silence_id="sil-1")
>>> s.matches({"model": "tickets", "rule": "accuracy_drop", "severity": "high"})
True
>>> s.matches({"model": "tickets", "rule": "volume_anomaly", "severity": "high"})
False
>>> [s.status(datetime(2025, 12, 31)), s.status(datetime(2026, 1, 1, 12)), s.status(datetime(2026, 1, 2))]
['pending', 'active', 'expired']
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from modelsteward.errors import ConfigError, NotFoundError

__all__ = ["Matcher", "Silence", "SilenceStatus", "active_silences", "add_silence", "expire_silence", "list_silences", "parse_matcher"]

SilenceStatus = Literal["pending", "active", "expired"]
_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.S)


@dataclass(frozen=True)
class Matcher:
    """One label matcher: ``name``, an operator (``=``, ``!=``, ``=~``, ``!~``) and a value."""

    name: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        hit = re.fullmatch(self.value, have) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value}"


def parse_matcher(text: str) -> Matcher:
    """Parse ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex`` (quotes around the value are dropped).

    >>> parse_matcher('rule=~"accuracy.*"')
    Matcher(name='rule', op='=~', value='accuracy.*')
    """
    m = _MATCHER.match(text)
    if not m:
        raise ConfigError(f"matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex",
                          hint="for example: model=tickets  severity=~\"high|critical\"  team!=support")
    name, op, value = m.group(1), m.group(2), m.group(3)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"matcher {text!r}: the regular expression does not compile: {exc}") from None
    return Matcher(name, op, value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Silence:
    """Mutes the notifications of matching alerts from ``starts_at`` until ``ends_at`` (or until expired early)."""

    silence_id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime | None = None
    expired_at: datetime | None = None   # set when ended early by hand

    @classmethod
    def create(cls, matchers: Iterable[str | Matcher], *, starts_at: datetime, ends_at: datetime, created_by: str,
               comment: str, silence_id: str | None = None, created_at: datetime | None = None) -> Silence:
        parsed = tuple(m if isinstance(m, Matcher) else parse_matcher(m) for m in matchers)
        if not parsed:
            raise ConfigError("a silence needs at least one matcher", hint="e.g. model=tickets rule=accuracy_drop")
        if all(m.matches({}) for m in parsed):
            raise ConfigError("these matchers match every alert (even one without labels)",
                              hint="add an equality matcher such as model=<name>; a silence of everything hides real problems")
        if ends_at <= starts_at:
            raise ConfigError(f"a silence must end after it starts (start {starts_at:%Y-%m-%d %H:%M}, end {ends_at:%Y-%m-%d %H:%M})")
        if not created_by.strip():
            raise ConfigError("a silence needs an author", hint="pass --by NAME")
        if not comment.strip():
            raise ConfigError("a silence needs a comment saying why", hint="pass --comment TEXT")
        return cls(silence_id or f"sil-{uuid.uuid4().hex[:10]}", parsed, starts_at, ends_at, created_by, comment, created_at)

    @property
    def end(self) -> datetime:
        """When the silence stops muting: its end, or when it was expired by hand."""
        return min(self.ends_at, self.expired_at) if self.expired_at is not None else self.ends_at

    def status(self, now: datetime) -> SilenceStatus:
        if now >= self.end:
            return "expired"
        return "pending" if now < self.starts_at else "active"

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "silence_id": self.silence_id, "matchers": [str(m) for m in self.matchers], "starts_at": self.starts_at,
            "ends_at": self.ends_at, "created_by": self.created_by, "comment": self.comment,
            "created_at": self.created_at, "expired_at": self.expired_at,
        }
        if now is not None:
            out["status"] = self.status(now)
        return out


def _row(r: Mapping[str, Any]) -> Silence:
    matchers = tuple(Matcher(m["name"], m["op"], m["value"]) for m in json.loads(r["matchers"]))
    return Silence(r["silence_id"], matchers, r["starts_at"], r["ends_at"], r["created_by"], r["comment"],
                   r["created_at"], r["expired_at"])


def add_silence(store: Any, silence: Silence, *, now: datetime) -> Silence:
    """Store a silence; returns it with its creation time."""
    matchers = json.dumps([{"name": m.name, "op": m.op, "value": m.value} for m in silence.matchers])
    with store.transaction() as con:
        con.execute("INSERT INTO silences VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    [silence.silence_id, matchers, silence.starts_at, silence.ends_at, silence.created_by, silence.comment,
                     now]).fetchall()
    return Silence(silence.silence_id, silence.matchers, silence.starts_at, silence.ends_at, silence.created_by,
                   silence.comment, now)


def list_silences(store: Any) -> list[Silence]:
    """Every silence, through the store or an open transaction's connection."""
    from modelsteward.alerts.incidents import _dicts

    return [_row(r) for r in _dicts(store, "SELECT * FROM silences ORDER BY starts_at, silence_id", [])]


def expire_silence(store: Any, silence_id: str, *, now: datetime) -> Silence:
    """End a silence now (a silence already over keeps its end)."""
    rows = store.query_dicts("SELECT * FROM silences WHERE silence_id = ?", [silence_id])
    if not rows:
        raise NotFoundError(f"no silence {silence_id!r}", hint="list them with `steward alerts silences`")
    s = _row(rows[0])
    if s.status(now) == "expired":
        return s
    with store.transaction() as con:
        con.execute("UPDATE silences SET expired_at = ? WHERE silence_id = ?", [now, silence_id]).fetchall()
    return Silence(s.silence_id, s.matchers, s.starts_at, s.ends_at, s.created_by, s.comment, s.created_at, now)


def active_silences(silences: Sequence[Silence], labels: Mapping[str, str], now: datetime) -> list[Silence]:
    """The silences that mute an alert with ``labels`` at ``now``."""
    return [s for s in silences if s.status(now) == "active" and s.matches(labels)]
