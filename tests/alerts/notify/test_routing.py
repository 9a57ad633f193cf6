"""The route tree: matching, inheritance, continue, grouping keys, and config validation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelsteward.alerts.notify.routing import find_route, group_id, group_labels, match_routes
from modelsteward.config import RouteConfig
from modelsteward.errors import ConfigError

from .conftest import notify_config

TREE = RouteConfig.model_validate({
    "receiver": "default", "group_by": ["model"], "repeat_interval": "2h",
    "routes": [
        {"match": {"team": "payments"}, "receiver": "payments", "group_wait": "1m",
         "routes": [{"match_re": {"severity": "critical|high"}, "receiver": "payments-pager", "group_by": ["model", "rule"]}]},
        {"match_re": {"severity": "crit.*"}, "receiver": "pager", "continue": True},
        {"match": {"model": "tickets"}, "receiver": "tickets"},
    ],
})


@pytest.mark.parametrize(("labels", "expected"), [
    ({"team": "payments", "severity": "high", "model": "fraud"}, ["payments-pager"]),
    ({"team": "payments", "severity": "low", "model": "fraud"}, ["payments"]),
    ({"severity": "critical", "model": "tickets"}, ["pager", "tickets"]),  # continue: the next sibling too
    ({"severity": "critical", "model": "churn"}, ["pager"]),
    ({"severity": "info", "model": "churn"}, ["default"]),               # nothing below matches: the root
    ({"severity": "xcritical", "model": "churn"}, ["default"]),          # match_re is a full match
    ({"team": "payments"}, ["payments"]),                                # a missing label is "" (no match for critical|high)
])
def test_matching(labels: dict[str, str], expected: list[str]) -> None:
    assert [r.receiver for r in match_routes(TREE, labels)] == expected


def test_settings_are_inherited_from_the_parent() -> None:
    [r] = match_routes(TREE, {"team": "payments", "severity": "high"})
    assert r.path == "route.routes[0].routes[0]"
    assert r.group_by == ("model", "rule")
    assert r.group_wait == timedelta(minutes=1)         # from its parent
    assert r.repeat_interval == timedelta(hours=2)      # from the root
    assert r.group_interval == timedelta(minutes=5)     # the default
    assert find_route(TREE, r.path) == r
    assert find_route(TREE, "route.routes[9]") is None


def test_group_labels_and_ids() -> None:
    [r] = match_routes(TREE, {"model": "tickets", "severity": "low"})
    a = {"model": "tickets", "rule": "a", "severity": "low"}
    b = {"model": "tickets", "rule": "b", "severity": "low"}
    assert group_labels(r, a) == {"model": "tickets"}
    assert group_id(r, a) == group_id(r, b)
    assert group_id(r, a) != group_id(r, {**a, "model": "churn"})


def test_unknown_receiver_and_bad_regex_are_config_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown receiver 'nope'"):
        notify_config([{"name": "a", "type": "log", "url": "x"}], {"receiver": "a", "routes": [{"receiver": "nope"}]})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        notify_config([{"name": "a", "type": "log", "url": "x"}], {"receiver": "a", "routes": [{"match_re": {"model": "("}}]})
    with pytest.raises(ValueError, match="secret_env"):
        notify_config([{"name": "a", "type": "log", "url": "x", "secret_env": "S"}], {"receiver": "a"})
    from modelsteward.config import load_config

    path = tmp_path / "steward.yaml"
    path.write_text("models: [{name: t, task: binary, labels: [a, b]}]\n"
                    "notifications: {receivers: [{name: a, type: log, url: x}], route: {receiver: a, group_wait: soon}}\n")
    with pytest.raises(ConfigError, match="group_wait"):
        load_config(path)
