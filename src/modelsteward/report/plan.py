"""The maintenance plan: the course document's template, filled from the configuration and the store.

``build_plan(config, store)`` gathers, per model, the five sections of the course's "AI System
Maintenance Plan" — monitoring (metric, frequency, threshold, owner), alerting (alert,
severity, response SLA, runbook), feedback collection with the collection rates measured in
the store, the retraining schedule and triggers with their last firing, and the escalation
path. Nothing is invented: a field the configuration lacks is a :class:`Gap`, rendered as
"⚠ gap: ..." and listed again at the end of the model's plan. ``render_markdown`` and
``render_html`` write it out; every name taken from the configuration or data is escaped.

>>> from modelsteward.config import StewardConfig
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"],
...     "alerts": [{"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85},
...                 "severity": "P1", "response_sla": "1h", "owner": "ml-team"}]}]})
>>> plan = build_plan(cfg, None)
>>> row = plan.models[0].monitoring[0]
>>> row.metric, row.frequency, row.threshold, row.owner
('accuracy', 'Weekly', '< 0.85', 'ml-team')
>>> plan.models[0].alerting[0].runbook
Gap(text='no runbook set for rule accuracy_drop')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelsteward.config import (
    FEEDBACK_SOURCES,
    SEVERITY_ALIASES,
    AlertRule,
    BandCondition,
    ChangeCondition,
    ModelConfig,
    StewardConfig,
    ThresholdCondition,
)

__all__ = ["Gap", "MaintenancePlan", "ModelPlan", "build_plan", "condition_text", "render_html", "render_markdown"]

FREQUENCY = {"hour": "Hourly", "day": "Daily", "week": "Weekly"}
PRIORITY = {v: k.upper() for k, v in SEVERITY_ALIASES.items()}  # high -> P1
# The course's feedback plan: what each source is for and the rate it expects.
COURSE_FEEDBACK = {
    "explicit": ("Agent corrections, thumbs up/down", "~15% of predictions"),
    "implicit": ("Accepted / modified / overridden suggestions", "100% of predictions"),
    "outcome": ("Ticket outcome: CSAT, escalation, resolution time", "100%, 24-48 h delay"),
    "expert": ("Expert QA review (sampled)", "50 random predictions a week"),
}


@dataclass(frozen=True)
class Gap:
    """A field the configuration lacks: shown as a gap to fill, never filled in by guess."""

    text: str

    def __str__(self) -> str:
        return f"⚠ gap: {self.text}"


Cell = str | Gap


@dataclass(frozen=True)
class MonitoringRow:
    metric: str
    frequency: str
    threshold: str
    owner: Cell
    rule: str


@dataclass(frozen=True)
class AlertingRow:
    alert: str
    severity: str
    response_sla: Cell
    runbook: Cell
    last_fired: datetime | None


@dataclass(frozen=True)
class FeedbackRow:
    source: str
    purpose: str
    target: str
    measured: Cell
    basis: str


@dataclass(frozen=True)
class RetrainRow:
    kind: str          # trigger-based | scheduled | emergency
    name: str
    when: str
    last_fired: Cell


@dataclass(frozen=True)
class EscalationRow:
    step: int
    level: str
    who: Cell
    after: str


@dataclass
class ModelPlan:
    name: str
    owner: Cell
    monitoring: list[MonitoringRow] = field(default_factory=list)
    alerting: list[AlertingRow] = field(default_factory=list)
    feedback: list[FeedbackRow] = field(default_factory=list)
    feedback_notes: list[str] = field(default_factory=list)
    retraining: list[RetrainRow] = field(default_factory=list)
    escalation: list[EscalationRow] = field(default_factory=list)
    section_gaps: dict[str, Gap] = field(default_factory=dict)  # a whole section with nothing configured

    def gaps(self) -> list[Gap]:
        """Every gap of this model's plan, in the order of the document."""
        cells: list[Any] = [self.owner]
        cells += [r.owner for r in self.monitoring]
        cells += [c for r in self.alerting for c in (r.response_sla, r.runbook)]
        cells += [r.measured for r in self.feedback]
        cells += [r.last_fired for r in self.retraining if isinstance(r.last_fired, Gap) and r.kind != "trigger"]
        cells += [r.who for r in self.escalation]
        cells += list(self.section_gaps.values())
        seen: list[Gap] = []
        for c in cells:
            if isinstance(c, Gap) and c not in seen:
                seen.append(c)
        return seen


@dataclass
class MaintenancePlan:
    models: list[ModelPlan]
    generated_at: datetime
    notifications: list[str] = field(default_factory=list)


def condition_text(rule: Any) -> str:
    """A rule's (or trigger's) condition as a short threshold, e.g. ``< 0.85`` or ``falls by > 10% of baseline (reference)``."""
    cond = rule.condition
    if isinstance(cond, ThresholdCondition):
        text = f"{'<' if cond.kind == 'below' else '>'} {cond.value:g}"
    elif isinstance(cond, ChangeCondition):
        verb = {"down": "falls", "up": "rises", "either": "moves"}[cond.direction]
        if cond.relative:
            text = f"{verb} by > {cond.by_more_than:.0%} of baseline ({rule.baseline})"
        else:
            text = f"{verb} by > {cond.by_more_than:g} from baseline ({rule.baseline})"
    else:
        assert isinstance(cond, BandCondition)
        text = f"outside {cond.lower:g}-{cond.upper:g} × baseline ({rule.baseline})"
    windows = getattr(rule, "for_windows", 1)
    return text + (f" for {windows} windows" if windows > 1 else "")


# -- reading the store ------------------------------------------------------------------------

def _has_table(store: Any, name: str) -> bool:
    return bool(store.query("SELECT 1 FROM information_schema.tables WHERE table_name = ?", [name]))


def _columns(store: Any, table: str) -> set[str]:
    return {r[0] for r in store.query("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])}


def _rule_last_fired(store: Any, model: str) -> dict[str, datetime]:
    if store is None or not _has_table(store, "rule_evaluations"):
        return {}
    rows = store.query("SELECT rule, max(window_start) FROM rule_evaluations WHERE model = ? AND fired GROUP BY 1", [model])
    ends = store.query("SELECT rule, window_start, max(window_end) FROM alerts WHERE model = ? GROUP BY 1, 2", [model]) \
        if _has_table(store, "alerts") else []
    end_of = {(r[0], r[1]): r[2] for r in ends}
    return {r[0]: end_of.get((r[0], r[1]), r[1]) for r in rows}


def _retrain_last(store: Any, model: str) -> dict[str, datetime] | None:
    """Latest request per trigger from ``retrain_requests``; None when that table does not exist."""
    if store is None or not _has_table(store, "retrain_requests"):
        return None
    cols = _columns(store, "retrain_requests")
    name = next((c for c in ("trigger_name", "trigger", "rule") if c in cols), None)
    when = next((c for c in ("created_at", "requested_at", "as_of") if c in cols), None)
    if name is None or when is None or "model" not in cols:
        return None
    rows = store.query(f'SELECT "{name}", max("{when}") FROM retrain_requests WHERE model = ? GROUP BY 1', [model])
    return {r[0]: r[1] for r in rows}


def _feedback_rates(store: Any, model: ModelConfig) -> tuple[dict[str, float], str] | None:
    """Collection rates: the latest window's stored ``feedback.*_rate``, else computed over all stored predictions."""
    if store is None:
        return None
    metrics = [f"feedback.{k}_rate" for k in FEEDBACK_SOURCES]
    marks = ", ".join("?" for _ in metrics)
    rows = store.query(
        f"SELECT window_start, window_end, metric, value FROM window_metrics WHERE model = ? AND metric IN ({marks}) "
        f"AND value IS NOT NULL AND window_start = (SELECT max(window_start) FROM window_metrics WHERE model = ? "
        f"AND metric IN ({marks}) AND value IS NOT NULL)", [model.name, *metrics, model.name, *metrics])
    if rows:
        start, end = rows[0][0], rows[0][1]
        return ({r[2].removeprefix("feedback.").removesuffix("_rate"): float(r[3]) for r in rows},
                f"window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}")
    table = "predictions__" + model.name.replace("-", "_")
    if not _has_table(store, table):
        return None
    from modelsteward.store.duckdb_store import quote_ident

    counts = ", ".join(f"count(DISTINCT prediction_id) FILTER (WHERE kind = '{k}')" for k in FEEDBACK_SOURCES)
    total = store.query(f"SELECT count(*) FROM {quote_ident(table)}")[0][0]
    if not total:
        return None
    got = store.query(f"SELECT {counts} FROM feedback WHERE model = ? AND prediction_id IN "
                      f"(SELECT prediction_id FROM {quote_ident(table)})", [model.name])[0]
    return ({k: int(c) / total for k, c in zip(FEEDBACK_SOURCES, got, strict=True)}, f"all {total} stored predictions")


# -- building ---------------------------------------------------------------------------------

def _rule_owner(rule: AlertRule, model: ModelConfig) -> Cell:
    return rule.owner or model.owner or Gap(f"no owner set for rule {rule.name}")


def _model_plan(model: ModelConfig, store: Any) -> ModelPlan:
    plan = ModelPlan(model.name, model.owner or Gap(f"no owner set for model {model.name}"))
    fired = _rule_last_fired(store, model.name)
    freq = FREQUENCY[model.window]
    for rule in model.alerts:
        plan.monitoring.append(MonitoringRow(rule.metric, freq, condition_text(rule), _rule_owner(rule, model), rule.name))
        sev = f"{rule.severity} ({PRIORITY[rule.severity]})"
        plan.alerting.append(AlertingRow(
            rule.name, sev, rule.response_sla or Gap(f"no response SLA set for rule {rule.name}"),
            rule.runbook or Gap(f"no runbook set for rule {rule.name}"), fired.get(rule.name)))
    if not model.alerts:
        plan.section_gaps["monitoring"] = Gap(f"no alert rules configured for model {model.name}")

    measured = _feedback_rates(store, model)
    for source, (purpose, target) in COURSE_FEEDBACK.items():
        if measured is None:
            cell: Cell = Gap("no predictions stored yet: the collection rate cannot be measured")
            basis = ""
        else:
            rates, basis = measured
            rate = rates.get(source)
            cell = f"{rate:.1%}" if rate else Gap(f"no {source} feedback collected ({basis})")
        plan.feedback.append(FeedbackRow(source, purpose, target, cell, basis))
    review = getattr(getattr(model, "feedback", None), "expert_review", None)
    if review is not None:
        plan.feedback_notes.append(
            f"Expert review: {review.weekly_sample} random predictions a week; high-confidence errors from confidence "
            f"{review.high_confidence:g}.")

    _retraining(plan, model, store, fired)
    _escalation(plan, model)
    return plan


def _retraining(plan: ModelPlan, model: ModelConfig, store: Any, fired: dict[str, datetime]) -> None:
    requests = _retrain_last(store, model.name)

    def last(name: str, from_rule: bool) -> Cell:
        if requests is not None and name in requests:
            return f"{requests[name]:%Y-%m-%d %H:%M}"
        if from_rule and name in fired:
            return f"{fired[name]:%Y-%m-%d %H:%M} (alert fired)"
        return "never"

    settings = getattr(model, "retraining", None)
    for rule in model.alerts:
        if rule.retrain:
            plan.retraining.append(RetrainRow("trigger", rule.name, f"{rule.metric} {condition_text(rule)}", last(rule.name, True)))
    for trigger in getattr(settings, "triggers", None) or []:
        kind = getattr(trigger, "kind", "")
        if kind == "schedule":
            plan.retraining.append(RetrainRow("scheduled", trigger.name, f"cron {trigger.cron} (UTC)", last(trigger.name, False)))
        elif kind == "metric":
            plan.retraining.append(
                RetrainRow("trigger", trigger.name, f"{trigger.metric} {condition_text(trigger)}", last(trigger.name, False)))
        elif kind == "drift":
            subjects = ", ".join(trigger.subjects) or "any feature"
            plan.retraining.append(RetrainRow(
                "trigger", trigger.name, f"{trigger.test} p-value < {trigger.p_value:g} on {subjects}"
                + (f" for {trigger.for_windows} windows" if trigger.for_windows > 1 else ""), last(trigger.name, False)))
    plan.retraining.append(RetrainRow("emergency", "manual", "major product or process change: a manual retrain request",
                                      last("manual", False)))
    if not any(r.kind == "trigger" for r in plan.retraining):
        plan.section_gaps["retrain_triggers"] = Gap(f"no retraining trigger configured for model {model.name}")
    if not any(r.kind == "scheduled" for r in plan.retraining):
        plan.section_gaps["retrain_schedule"] = Gap(f"no scheduled retraining configured for model {model.name}")


def _escalation(plan: ModelPlan, model: ModelConfig) -> None:
    alerting = getattr(model, "alerting", None)
    steps = getattr(alerting, "escalation", None)
    if not steps:
        plan.section_gaps["escalation"] = Gap(f"no escalation path configured for model {model.name}")
        return
    for i, step in enumerate(steps, 1):
        who = step.who or (model.owner if i == 1 else None)
        after = "—" if i == 1 else (f"after {step.after} unanswered" if step.after else "after the rule's response SLA")
        plan.escalation.append(EscalationRow(i, step.level, who or Gap(f"no one set for escalation step {step.level}"), after))


def build_plan(config: StewardConfig, store: Any, *, now: datetime | None = None) -> MaintenancePlan:
    """The maintenance plan of every configured model (``store`` may be None: nothing measured yet)."""
    from modelsteward.alerts.notify.model import utcnow

    notes = []
    settings = getattr(config, "notifications", None)
    if settings is None:
        notes.append(str(Gap("no notifications section in the configuration: alerts reach no one")))
    else:
        notes.append("Notifications go to: " + ", ".join(f"{r.name} ({r.type})" for r in settings.receivers))
    return MaintenancePlan([_model_plan(m, store) for m in config.models], now or utcnow(), notes)


def render_markdown(plan: MaintenancePlan) -> str:
    """The plan in the course template's Markdown (values escaped)."""
    from modelsteward.report.plan_render import markdown

    return markdown(plan)


def render_html(plan: MaintenancePlan) -> str:
    """The plan as a standalone HTML page (autoescaped template)."""
    from modelsteward.report.plan_render import html_page

    return html_page(plan)
