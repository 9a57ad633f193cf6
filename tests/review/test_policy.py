"""Routing conditions on both sides of their thresholds, their combinations, reasons and priorities."""

from __future__ import annotations

import math
from typing import Any

import pytest

from modelsteward.config import ModelConfig, ReviewSettings
from modelsteward.errors import ConfigError
from modelsteward.review.policy import Policy, RouteInput
from modelsteward.review.routing import Router


def policy(conditions: list[dict[str, Any]], when: Any = "any") -> Policy:
    return Policy(ReviewSettings.model_validate({"conditions": conditions, "when": when}), salt="tickets")


def names(p: Policy, inp: RouteInput) -> list[str]:
    return [r.name for r in p.evaluate(inp).reasons]


@pytest.mark.parametrize(("confidence", "routed"), [(0.69, True), (0.6999, True), (0.7, False), (0.71, False), (None, False)])
def test_confidence_below_on_both_sides(confidence: float | None, routed: bool) -> None:
    p = policy([{"kind": "confidence_below", "threshold": 0.7}])
    out = p.evaluate(RouteInput("t", "urgent", confidence))
    assert out.route is routed
    assert (names(p, RouteInput("t", "urgent", confidence)) == ["confidence_below"]) is routed


def test_default_policy_is_the_course_documents() -> None:
    settings = ReviewSettings()
    kinds = {c.kind: c for c in settings.conditions}
    assert kinds["confidence_below"].threshold == 0.7  # type: ignore[union-attr]
    assert kinds["audit_sample"].percent == 5.0  # type: ignore[union-attr]


@pytest.mark.parametrize(("op", "value", "seen", "expected"), [
    ("eq", "gold", "gold", True), ("eq", "gold", "silver", False),
    ("ne", "gold", "silver", True), ("ne", "gold", "gold", False),
    ("in", ["billing", "legal"], "legal", True), ("in", ["billing", "legal"], "technical", False),
    ("not_in", ["billing", "legal"], "technical", True), ("not_in", ["billing", "legal"], "legal", False),
    ("gt", 10000, 10000.5, True), ("gt", 10000, 10000, False),
    ("ge", 10000, 10000, True), ("ge", 10000, 9999.99, False),
    ("lt", 3, 2, True), ("lt", 3, 3, False),
    ("le", 3, 3, True), ("le", 3, 3.01, False),
    ("gt", 5, "7", False),  # text is not a number: never compared
    ("eq", "gold", None, False), ("ne", "gold", None, False), ("not_in", ["x"], None, False),  # missing never matches
    ("lt", 3, math.nan, False),
])
def test_risk_predicate_operators(op: str, value: Any, seen: Any, expected: bool) -> None:
    p = policy([{"kind": "risk", "name": "vip", "where": [{"field": "attributes.x", "op": op, "value": value}]}])
    attrs = {} if seen is None else {"x": seen}
    assert p.evaluate(RouteInput("t", "urgent", 0.99, attributes=attrs)).route is expected


def test_risk_over_features_and_fields_with_all_and_any() -> None:
    where = [{"field": "features.category", "op": "in", "value": ["legal", "billing"]},
             {"field": "prediction", "op": "eq", "value": "routine"}]
    both = policy([{"kind": "risk", "where": where, "match": "all"}])
    either = policy([{"kind": "risk", "where": where, "match": "any"}])
    legal_routine = RouteInput("t", "routine", 0.9, features={"category": "legal"})
    legal_urgent = RouteInput("t", "urgent", 0.9, features={"category": "legal"})
    tech_urgent = RouteInput("t", "urgent", 0.9, features={"category": "technical"})
    assert [both.evaluate(i).route for i in (legal_routine, legal_urgent, tech_urgent)] == [True, False, False]
    assert [either.evaluate(i).route for i in (legal_routine, legal_urgent, tech_urgent)] == [True, True, False]
    assert "features.category in" in either.evaluate(legal_urgent).reasons[0].detail


def test_disagreement_on_label_and_on_confidence_margin() -> None:
    p = policy([{"kind": "disagreement", "champion": "v1", "challengers": ["v2"], "margin": 0.2}])
    champ = dict(prediction="urgent", confidence=0.9, model_version="v1")

    def inp(**ch: Any) -> RouteInput:
        return RouteInput("t", champ["prediction"], champ["confidence"], model_version="v1", challengers=[{"model_version": "v2", **ch}])

    assert p.evaluate(inp(prediction="routine", confidence=0.9)).route  # label differs
    assert p.evaluate(inp(prediction="urgent", confidence=0.65)).route  # |0.9 - 0.65| = 0.25 > 0.2
    assert not p.evaluate(inp(prediction="urgent", confidence=0.75)).route  # 0.15 <= 0.2
    assert not p.evaluate(inp(prediction="urgent", confidence=0.7)).route  # exactly 0.2 is not more than the margin
    # a version that is not a configured challenger does not count; nor does routing a challenger's own prediction
    assert not p.evaluate(RouteInput("t", "urgent", 0.9, model_version="v1",
                                     challengers=[{"model_version": "v3", "prediction": "routine", "confidence": 0.9}])).route
    assert not p.evaluate(RouteInput("t", "urgent", 0.9, model_version="v2",
                                     challengers=[{"model_version": "v1", "prediction": "routine", "confidence": 0.9}])).route
    labels_only = policy([{"kind": "disagreement", "champion": "v1"}])
    assert not labels_only.evaluate(RouteInput("t", "urgent", 0.9, model_version="v1",
                                               challengers=[{"model_version": "v9", "prediction": "urgent", "confidence": 0.1}])).route
    assert labels_only.evaluate(RouteInput("t", "urgent", 0.9, model_version="v1",
                                           challengers=[{"model_version": "v9", "prediction": "routine", "confidence": 0.9}])).route


@pytest.mark.parametrize(("novelty", "routed"), [(99.5, True), (99.0, False), (42.0, False), (None, False)])
def test_novelty_above_percentile(novelty: float | None, routed: bool) -> None:
    p = policy([{"kind": "novelty_above", "percentile": 99}])
    assert p.evaluate(RouteInput("t", "urgent", 0.9, novelty=novelty)).route is routed


def test_audit_sample_edges() -> None:
    none = policy([{"kind": "audit_sample", "percent": 0}])
    every = policy([{"kind": "audit_sample", "percent": 100}])
    ids = [f"id-{i}" for i in range(500)]
    assert not any(none.evaluate(RouteInput(i, "urgent", 0.9)).route for i in ids)
    assert all(every.evaluate(RouteInput(i, "urgent", 0.9)).route for i in ids)


CONDITIONS = [
    {"kind": "confidence_below", "name": "low", "threshold": 0.7},
    {"kind": "risk", "name": "vip", "where": [{"field": "attributes.tier", "op": "eq", "value": "gold"}]},
    {"kind": "risk", "name": "sensitive", "priority": "critical",
     "where": [{"field": "features.category", "op": "in", "value": ["legal"]}]},
]


@pytest.mark.parametrize("low", [False, True])
@pytest.mark.parametrize("vip", [False, True])
@pytest.mark.parametrize("sensitive", [False, True])
def test_combinations_against_a_truth_table(low: bool, vip: bool, sensitive: bool) -> None:
    inp = RouteInput("t", "urgent", 0.5 if low else 0.9, features={"category": "legal" if sensitive else "technical"},
                     attributes={"tier": "gold" if vip else "silver"})
    truth = {"any": low or vip or sensitive, "all": low and vip and sensitive,
             "tree": low and (vip or sensitive)}
    trees = {"any": "any", "all": "all", "tree": {"all": ["low", {"any": ["vip", "sensitive"]}]}}
    for key, when in trees.items():
        out = policy(CONDITIONS, when).evaluate(inp)
        assert out.route is truth[key], key
        # every condition is evaluated and every match is recorded, whatever the combination says
        assert [r.name for r in out.reasons] == [n for n, hit in (("low", low), ("vip", vip), ("sensitive", sensitive)) if hit]
        assert out.evaluated == ("low", "vip", "sensitive")


def test_priority_is_the_highest_of_the_reasons_and_sets_the_sla() -> None:
    model = ModelConfig.model_validate({"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                                        "features": [{"name": "category", "type": "categorical"}],
                                        "review": {"conditions": CONDITIONS, "sla": {"critical": "30m", "high": "2h", "medium": "1d"}}})
    router = Router(model)
    rank = {"low": 0, "medium": 1, "high": 2, "critical": 3}
    cases = [
        (RouteInput("a", "urgent", 0.5), "medium", 86400),
        (RouteInput("b", "urgent", 0.5, attributes={"tier": "gold"}), "high", 7200),
        (RouteInput("c", "urgent", 0.5, features={"category": "legal"}, attributes={"tier": "gold"}), "critical", 1800),
    ]
    for inp, priority, sla in cases:
        d = router.decide(inp)
        assert d.to_human and d.priority == priority and d.sla_seconds == sla
        assert d.priority == max((r.priority for r in d.reasons), key=rank.__getitem__)
    auto = router.decide(RouteInput("d", "urgent", 0.95))
    assert not auto.to_human and auto.priority is None and auto.reasons == ()


def test_router_needs_a_policy() -> None:
    model = ModelConfig.model_validate({"name": "tickets", "task": "binary", "labels": ["urgent", "routine"]})
    with pytest.raises(ConfigError, match="no review policy"):
        Router(model)


@pytest.mark.parametrize(("review", "message"), [
    ({"conditions": [{"kind": "risk", "where": [{"field": "features.nope", "value": "x"}]}]}, "unknown feature 'nope'"),
    ({"conditions": [{"kind": "novelty_above"}]}, "needs `novelty: true`"),
    ({"when": {"all": ["confidence_below", "typo"]}}, "unknown condition 'typo'"),
    ({"conditions": [{"kind": "confidence_below"}, {"kind": "confidence_below"}]}, "given twice"),
    ({"conditions": [{"kind": "risk", "where": [{"field": "attributes.x", "op": "in", "value": "a"}]}]}, "needs a list"),
    ({"conditions": [{"kind": "risk", "where": [{"field": "attributes.x", "op": "gt", "value": "a"}]}]}, "compares numbers"),
    ({"conditions": [{"kind": "risk", "where": [{"field": "tier", "value": "a"}]}]}, "attributes.<key>"),
    ({"sla": {"urgent": "1h"}}, "unknown priority"),
    ({"conditions": [{"kind": "confidence_below", "priority": "p9"}]}, "expected one of"),
])
def test_bad_policies_are_refused_with_the_key_path(review: dict[str, Any], message: str, tmp_path: Any) -> None:
    import yaml

    from modelsteward.config import load_config

    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump({"models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                                                "features": [{"name": "category", "type": "categorical"}], "review": review}]}))
    with pytest.raises(ConfigError, match="review") as info:
        load_config(path)
    assert message in str(info.value)
