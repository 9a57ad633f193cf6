"""Route notifications by their labels to receivers, Alertmanager style.

A route tree: each node may ``match`` labels exactly and ``match_re`` them by regular
expression (the whole value must match). A notification enters at the root and goes down to
the first child that matches, and on down; it lands on the deepest matching node. With
``continue: true`` a matching child lets the later siblings be tried as well, so one
notification can reach several receivers. Settings a node leaves out (receiver, ``group_by``
and the three intervals) are inherited from its parent.

>>> from modelsteward.config import RouteConfig
>>> tree = RouteConfig.model_validate({
...     "receiver": "log", "group_by": ["model"],
...     "routes": [{"match": {"severity": "critical"}, "receiver": "pager", "continue": True},
...                {"match_re": {"model": "tick.*"}, "receiver": "tickets-team", "group_wait": "10s"}]})
>>> [(r.receiver, r.path) for r in match_routes(tree, {"severity": "critical", "model": "tickets"})]
[('pager', 'route.routes[0]'), ('tickets-team', 'route.routes[1]')]
>>> [r.receiver for r in match_routes(tree, {"severity": "low", "model": "churn"})]
['log']
>>> group_labels(match_routes(tree, {"model": "tickets", "rule": "acc"})[0], {"model": "tickets", "rule": "acc"})
{'model': 'tickets'}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from modelsteward.config import RouteConfig, parse_interval

__all__ = ["DEFAULTS", "ResolvedRoute", "find_route", "group_id", "group_labels", "match_routes", "route_matches"]

ALL_LABELS = "..."
# Alertmanager's timing defaults, grouped by model: wait 30 s to gather a new group, then at most one message per 5 min
# with news, and a reminder of what still fires every 4 h.
DEFAULTS = {"group_by": ("model",), "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


@dataclass(frozen=True)
class ResolvedRoute:
    """A route node with every inherited setting filled in."""

    path: str
    receiver: str
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta


def route_matches(route: RouteConfig, labels: Mapping[str, str]) -> bool:
    """Does ``route`` take a notification with these labels? A missing label counts as ``""``."""
    for key, value in route.match.items():
        if labels.get(key, "") != value:
            return False
    return all(re.fullmatch(pattern, labels.get(key, "")) for key, pattern in route.match_re.items())


def _resolve(route: RouteConfig, path: str, parent: ResolvedRoute | None) -> ResolvedRoute:
    def pick(name: str) -> timedelta:
        own = getattr(route, name)
        if own is not None:
            return parse_interval(own)
        return getattr(parent, name) if parent is not None else parse_interval(DEFAULTS[name])  # type: ignore[arg-type]

    if route.group_by is not None:
        group_by = tuple(route.group_by)
    else:
        group_by = parent.group_by if parent is not None else tuple(DEFAULTS["group_by"])
    receiver = route.receiver or (parent.receiver if parent is not None else "")
    return ResolvedRoute(path, receiver, group_by, pick("group_wait"), pick("group_interval"), pick("repeat_interval"))


def match_routes(root: RouteConfig, labels: Mapping[str, str]) -> list[ResolvedRoute]:
    """The routes (deepest matching nodes) that take a notification with ``labels``; empty if none."""

    def walk(route: RouteConfig, path: str, parent: ResolvedRoute | None) -> list[ResolvedRoute]:
        if not route_matches(route, labels):
            return []
        here = _resolve(route, path, parent)
        found: list[ResolvedRoute] = []
        for i, child in enumerate(route.routes):
            taken = walk(child, f"{path}.routes[{i}]", here)
            found += taken
            if taken and not child.continue_:
                break
        return found or [here]

    return walk(root, "route", None)


def find_route(root: RouteConfig, path: str) -> ResolvedRoute | None:
    """The resolved route at ``path`` (as stored with a group), or None if the tree changed."""

    def walk(route: RouteConfig, here: str, parent: ResolvedRoute | None) -> ResolvedRoute | None:
        resolved = _resolve(route, here, parent)
        if here == path:
            return resolved
        for i, child in enumerate(route.routes):
            below = f"{here}.routes[{i}]"
            if path == below or path.startswith(below + "."):
                return walk(child, below, resolved)
        return None

    return walk(root, "route", None)


def group_labels(route: ResolvedRoute, labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that name a notification's group on ``route`` (``group_by: ['...']``: all of them)."""
    if ALL_LABELS in route.group_by:
        return dict(sorted(labels.items()))
    return {key: labels.get(key, "") for key in route.group_by}


def group_id(route: ResolvedRoute, labels: Mapping[str, str]) -> str:
    """A stable id for the group: the route's path, its receiver and the group's labels."""
    text = json.dumps([route.path, route.receiver, sorted(group_labels(route, labels).items())])
    return hashlib.sha256(text.encode()).hexdigest()[:24]
