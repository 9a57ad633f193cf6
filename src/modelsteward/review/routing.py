"""Routing decisions: automatic, or a person reviews, with every reason and a priority.

A :class:`Router` holds a model's compiled :class:`~modelsteward.review.policy.Policy` and
turns one prediction into a :class:`RoutingDecision`. The priority of a routed prediction is
the highest priority among the reasons that matched; its review is due within the SLA of
that priority. The router touches no store: it is the part that sits in the request path
(``Monitor.route`` adds the queue write for routed predictions).

>>> from modelsteward.config import ModelConfig
>>> model = ModelConfig.model_validate({"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
...     "review": {"conditions": [{"kind": "confidence_below"}, {"kind": "audit_sample", "percent": 5}]}})
>>> router = Router(model)
>>> d = router.decide(RouteInput("t-1", "urgent", 0.55))
>>> d.to_human, d.priority, [r.name for r in d.reasons], d.sla_seconds
(True, 'medium', ['confidence_below'], 86400.0)
>>> router.decide(RouteInput("t-2", "urgent", 0.95)).to_human
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelsteward.config import ModelConfig, ReviewSettings, parse_duration
from modelsteward.errors import ConfigError
from modelsteward.review.policy import PRIORITY_RANK, Policy, Reason, RouteInput

__all__ = ["Router", "RoutingDecision"]


@dataclass(frozen=True)
class RoutingDecision:
    """The answer for one prediction.

    ``to_human`` says whether a person reviews it; ``reasons`` lists every condition that
    matched (also when the combination does not route); ``priority``, ``queue`` and
    ``sla_seconds`` are set when it is routed. ``item_id`` is the review item created for it
    (None when the policy is in shadow mode, or the prediction goes automatically).
    """

    model: str
    prediction_id: str
    to_human: bool
    reasons: tuple[Reason, ...]
    priority: str | None
    queue: str | None
    sla_seconds: float | None
    evaluated: tuple[str, ...]
    item_id: str | None = None

    @property
    def route(self) -> str:
        return "human" if self.to_human else "automatic"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "prediction_id": self.prediction_id, "route": self.route, "to_human": self.to_human,
            "reasons": [r.to_dict() for r in self.reasons], "priority": self.priority, "queue": self.queue,
            "sla_seconds": self.sla_seconds, "evaluated": list(self.evaluated), "item_id": self.item_id,
        }


def highest_priority(reasons: tuple[Reason, ...]) -> str:
    return max((r.priority for r in reasons), key=PRIORITY_RANK.__getitem__)


class Router:
    """A model's routing policy, ready to decide (``settings`` overrides the model's ``review``)."""

    def __init__(self, model: ModelConfig, settings: ReviewSettings | None = None) -> None:
        settings = settings or model.review
        if settings is None:
            raise ConfigError(
                f"model {model.name!r} has no review policy", path=f"models[{model.name}].review",
                hint="add a `review:` section to the model in steward.yaml (an empty mapping gives the course's defaults)")
        self.model = model.name
        self.settings = settings
        self.policy = Policy(settings, salt=model.name)
        self._sla = {p: parse_duration(text).total_seconds() for p, text in settings.sla.items()}

    def sla_seconds(self, priority: str) -> float | None:
        """The SLA of a priority, or None when ``review.sla`` leaves that priority without one."""
        return self._sla.get(priority)

    def decide(self, inp: RouteInput) -> RoutingDecision:
        outcome = self.policy.evaluate(inp)
        if not outcome.route:
            return RoutingDecision(self.model, inp.prediction_id, False, outcome.reasons, None, None, None, outcome.evaluated)
        priority = highest_priority(outcome.reasons)
        return RoutingDecision(self.model, inp.prediction_id, True, outcome.reasons, priority, self.settings.queue,
                               self._sla.get(priority), outcome.evaluated)
