"""Review routing and the review queue: people in the loop.

- :mod:`~modelsteward.review.policy`: conditions (confidence, risk, disagreement, novelty,
  audit sample) compiled once, and their and/or combination;
- :mod:`~modelsteward.review.routing`: :class:`Router` turns a prediction into a
  :class:`RoutingDecision` with every matching reason and a priority;
- :mod:`~modelsteward.review.sampling`: deterministic audit sampling by hashing the id;
- :mod:`~modelsteward.review.queue`: the queue's state machine (claims with leases, decisions
  that become expert feedback);
- :mod:`~modelsteward.review.progress`: SLAs, window metrics, progress per reviewer, agreement;
- :mod:`~modelsteward.review.dryrun`: a policy replayed over logged traffic;
- :mod:`~modelsteward.review.agreement`: Cohen's and Fleiss' kappa.
"""

from modelsteward.review.policy import Reason, RouteInput
from modelsteward.review.queue import Decision, ReviewItem, ReviewQueue
from modelsteward.review.routing import Router, RoutingDecision

__all__ = ["Decision", "Reason", "ReviewItem", "ReviewQueue", "RouteInput", "Router", "RoutingDecision"]
