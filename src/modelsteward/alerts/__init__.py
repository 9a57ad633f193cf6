"""Alert rules and their evaluation on window metrics."""

from modelsteward.alerts.rules import Evaluation, evaluate_rule, rule_baseline

__all__ = ["Evaluation", "evaluate_rule", "rule_baseline"]
