"""Retraining: triggers, retrain requests with their evidence, the labelled export, and schedules.

- :mod:`~modelsteward.retrain.triggers`: when the data says a model must be retrained (metric,
  drift, schedule; alert rules with ``retrain: true``);
- :mod:`~modelsteward.retrain.evaluate`: guards (cooldown, new labels), requests, the manual
  trigger, and the step ``Monitor.check`` runs after the alert rules;
- :mod:`~modelsteward.retrain.requests`: the stored requests (idempotent by evidence);
- :mod:`~modelsteward.retrain.export`: the labelled dataset as Parquet;
- :mod:`~modelsteward.retrain.actions`: the command and webhook told of a request;
- :mod:`~modelsteward.retrain.schedule`: a 5-field cron matcher.
"""

from modelsteward.retrain.evaluate import TriggerOutcome, evaluate_triggers, request_retrain
from modelsteward.retrain.requests import RetrainRequest, get_request, list_requests

__all__ = ["RetrainRequest", "TriggerOutcome", "evaluate_triggers", "get_request", "list_requests", "request_retrain"]
