"""Routing conditions, compiled once into plain Python tests, and their and/or combination.

Each condition of a model's ``review.conditions`` becomes a :class:`CompiledCondition`: a
name (the reason recorded when it matches), a kind, a priority and a test over a
:class:`RouteInput`. Every condition is evaluated on every prediction, so a decision lists
every reason that matched, not only the first. ``review.when`` combines the outcomes:
``any`` (the default), ``all``, or a tree of ``{any: [...]}`` / ``{all: [...]}`` whose leaves
are condition names.

A missing value never matches a predicate (a prediction without a ``tier`` attribute is not
a high-value customer, nor a low-value one), and a condition that cannot be evaluated (no
novelty score, no challenger logged) does not match.

>>> from modelsteward.config import ReviewSettings
>>> policy = Policy(ReviewSettings.model_validate({"conditions": [
...     {"kind": "confidence_below", "threshold": 0.7},
...     {"kind": "risk", "name": "vip", "where": [{"field": "attributes.tier", "op": "in", "value": ["gold"]}]}],
...     "when": "any"}), salt="tickets")
>>> outcome = policy.evaluate(RouteInput("t-1", "urgent", 0.64, attributes={"tier": "gold"}))
>>> [(r.name, r.priority) for r in outcome.reasons], outcome.route
([('confidence_below', 'medium'), ('vip', 'high')], True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelsteward.config import (
    REVIEW_PRIORITIES,
    AuditSampleCondition,
    ConfidenceBelowCondition,
    DisagreementCondition,
    NoveltyCondition,
    ReviewSettings,
    RiskCondition,
    RiskPredicate,
)
from modelsteward.review.sampling import audit_fraction

__all__ = ["DEFAULT_PRIORITY", "PRIORITY_RANK", "CompiledCondition", "Policy", "Reason", "RouteInput"]

DEFAULT_PRIORITY = {
    "risk": "high", "disagreement": "high", "novelty_above": "medium", "confidence_below": "medium", "audit_sample": "low",
}
PRIORITY_RANK = {name: rank for rank, name in enumerate(reversed(REVIEW_PRIORITIES))}  # low 0 .. critical 3


@dataclass(frozen=True)
class RouteInput:
    """What routing looks at: one prediction, and what challengers said about the same input.

    ``challengers`` holds ``{"model_version", "prediction", "confidence"}`` mappings.
    """

    prediction_id: str
    prediction: str | None
    confidence: float | None
    features: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)
    model_version: str | None = None
    user_id: str | None = None
    novelty: float | None = None
    challengers: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class Reason:
    """A condition that matched: its name, kind, priority and what was seen."""

    name: str
    kind: str
    priority: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "priority": self.priority, "detail": self.detail}


@dataclass(frozen=True)
class CompiledCondition:
    name: str
    kind: str
    priority: str
    test: Callable[[RouteInput], str | None]  # the detail when it matches, else None


@dataclass(frozen=True)
class Outcome:
    """Every condition evaluated: the reasons that matched, and whether the combination routes."""

    reasons: tuple[Reason, ...]
    route: bool
    evaluated: tuple[str, ...]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or _missing(v):
        return None
    return float(v)


def _getter(path: str) -> Callable[[RouteInput], Any]:
    head, _, rest = path.partition(".")
    if head == "attributes":
        return lambda inp: inp.attributes.get(rest) if inp.attributes else None
    if head == "features":
        return lambda inp: inp.features.get(rest) if inp.features else None
    return lambda inp: getattr(inp, head)


def _predicate(p: RiskPredicate) -> Callable[[RouteInput], bool]:
    get, target = _getter(p.field), p.value
    if p.op in ("in", "not_in"):
        members = frozenset(target if isinstance(target, list) else [target])
        inside = p.op == "in"
        return lambda inp: not _missing(v := get(inp)) and _hashable(v) and (v in members) == inside
    if p.op in ("eq", "ne"):
        equal = p.op == "eq"
        return lambda inp: not _missing(v := get(inp)) and (v == target) == equal
    bound = float(target)  # type: ignore[arg-type]  # validated numeric by RiskPredicate
    compare: Callable[[float], bool] = {
        "lt": lambda x: x < bound, "le": lambda x: x <= bound, "gt": lambda x: x > bound, "ge": lambda x: x >= bound,
    }[p.op]
    return lambda inp: (x := _number(get(inp))) is not None and compare(x)


def _hashable(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool))


def _risk(c: RiskCondition) -> Callable[[RouteInput], str | None]:
    tests = [(_predicate(p), f"{p.field} {p.op} {p.value!r}") for p in c.where]
    if c.match == "all":
        text = " and ".join(t for _, t in tests)
        return lambda inp: text if all(t(inp) for t, _ in tests) else None

    def any_test(inp: RouteInput) -> str | None:
        hits = [t for test, t in tests if test(inp)]
        return " or ".join(hits) if hits else None

    return any_test


def _confidence(c: ConfidenceBelowCondition) -> Callable[[RouteInput], str | None]:
    threshold = c.threshold

    def test(inp: RouteInput) -> str | None:
        conf = inp.confidence
        return f"confidence {conf:.3g} < {threshold:g}" if conf is not None and conf < threshold else None

    return test


def _disagreement(c: DisagreementCondition) -> Callable[[RouteInput], str | None]:
    versions = frozenset(c.challengers)
    champion, margin = c.champion, c.margin

    def test(inp: RouteInput) -> str | None:
        if inp.model_version != champion or not inp.challengers:
            return None
        found = []
        for other in inp.challengers:
            version = other.get("model_version")
            if version == champion or (versions and version not in versions):
                continue
            said, conf = other.get("prediction"), _number(other.get("confidence"))
            if said is not None and said != inp.prediction:
                found.append(f"{version} says {said!r} against {inp.prediction!r}")
            # 1e-12: 0.9 - 0.7 is 0.2000...07 in floats, and a margin of 0.2 must not be crossed by it
            elif margin is not None and conf is not None and inp.confidence is not None and abs(conf - inp.confidence) > margin + 1e-12:
                found.append(f"{version} confidence {conf:.3g} against {inp.confidence:.3g} (margin {margin:g})")
        return "; ".join(found) or None

    return test


def _novelty(c: NoveltyCondition) -> Callable[[RouteInput], str | None]:
    bound = c.percentile

    def test(inp: RouteInput) -> str | None:
        n = inp.novelty
        return f"novelty percentile {n:.4g} > {bound:g}" if n is not None and not math.isnan(n) and n > bound else None

    return test


def _audit(c: AuditSampleCondition, salt: str) -> Callable[[RouteInput], str | None]:
    share, key, text = c.percent / 100.0, c.salt if c.salt is not None else salt, f"audit sample ({c.percent:g}%)"
    if share <= 0:
        return lambda inp: None
    if share >= 1:
        return lambda inp: text
    return lambda inp: text if audit_fraction(inp.prediction_id, salt=key) < share else None


def compile_condition(cond: Any, *, salt: str) -> CompiledCondition:
    """One configured condition as a test; ``salt`` seeds the audit sample (the model name)."""
    makers: dict[str, Callable[[], Callable[[RouteInput], str | None]]] = {
        "confidence_below": lambda: _confidence(cond),
        "risk": lambda: _risk(cond),
        "disagreement": lambda: _disagreement(cond),
        "novelty_above": lambda: _novelty(cond),
        "audit_sample": lambda: _audit(cond, salt),
    }
    return CompiledCondition(cond.name or cond.kind, cond.kind, cond.priority or DEFAULT_PRIORITY[cond.kind], makers[cond.kind]())


def _combine(node: Any, names: Sequence[str]) -> Callable[[Mapping[str, bool]], bool]:
    if node == "any":
        return lambda hit: any(hit[n] for n in names)
    if node == "all":
        return lambda hit: all(hit[n] for n in names)
    if isinstance(node, str):
        return lambda hit: hit[node]
    (op, items), = node.items()
    parts = [_combine(item, names) for item in items]
    if op == "any":
        return lambda hit: any(p(hit) for p in parts)
    return lambda hit: all(p(hit) for p in parts)


class Policy:
    """A model's routing conditions, compiled; :meth:`evaluate` runs every one of them."""

    def __init__(self, settings: ReviewSettings, *, salt: str) -> None:
        self.settings = settings
        self.conditions = [compile_condition(c, salt=salt) for c in settings.conditions]
        self.names = tuple(c.name for c in self.conditions)
        self._combined = _combine(settings.when, self.names)
        self.needs_novelty = any(c.kind == "novelty_above" for c in self.conditions)
        self.disagreement = [c for c in settings.conditions if isinstance(c, DisagreementCondition)]

    def evaluate(self, inp: RouteInput) -> Outcome:
        hit: dict[str, bool] = {}
        reasons = []
        for cond in self.conditions:
            detail = cond.test(inp)
            hit[cond.name] = detail is not None
            if detail is not None:
                reasons.append(Reason(cond.name, cond.kind, cond.priority, detail))
        return Outcome(tuple(reasons), bool(reasons) and self._combined(hit), self.names)
