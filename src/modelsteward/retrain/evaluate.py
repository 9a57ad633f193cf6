"""Evaluate a model's retraining triggers and turn the ones that fire into retrain requests.

Candidates of every trigger (:mod:`modelsteward.retrain.triggers`) are taken in order of the
data time they are about (``as_of``: the end of the window that completed the run, or the
schedule's tick). For each, in turn:

1. its episode already has a request: nothing is done (the evaluation is idempotent: running
   ``steward check`` again, or ``--all``, on the same evidence makes no second request);
2. **cooldown**: the same trigger's previous request is less than ``cooldown`` older (in data
   time): suppressed;
3. **new labels**: fewer than ``min_new_labels`` predictions got a label (feedback carrying a
   label, or an implicit acceptance when it confirms) between the trigger's previous request
   and ``as_of``, by feedback time: suppressed;
4. otherwise a request is stored with the candidate's evidence, the labelled data up to
   ``as_of`` is exported as Parquet, and the configured command and webhook are told.

A suppressed episode can still fire in a later window of the same run, once the guards pass.
Manual requests (:func:`request_retrain`) are emergencies: they skip the guards.

>>> import tempfile
>>> from datetime import datetime
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"],
...     "retraining": {"export_dir": tempfile.mkdtemp()}}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> _ = mon.log_prediction(prediction_id="p1", prediction="a", confidence=0.9, timestamp=datetime(2026, 1, 5))
>>> _ = mon.log_feedback("p1", kind="explicit", label="b", timestamp=datetime(2026, 1, 5, 12))
>>> req = request_retrain(mon, reason="pricing change: new product tier", now=datetime(2026, 1, 6))
>>> req.kind, req.status, req.export_rows, req.labels_total
('manual', 'exported', 1, 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelsteward.config import DriftTrigger, MetricTrigger, ModelConfig, RetrainSettings, ScheduleTrigger, parse_duration
from modelsteward.errors import ConfigError, RetrainError
from modelsteward.retrain.actions import post_webhook, run_command
from modelsteward.retrain.export import export_labelled
from modelsteward.retrain.requests import RetrainRequest, get_request, insert_request, list_requests, request_id_for, update_request
from modelsteward.retrain.triggers import Candidate, drift_candidates, metric_candidates, schedule_candidates
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["TriggerOutcome", "after_check", "count_labels", "evaluate_triggers", "export_request", "notify_request", "request_retrain"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class TriggerOutcome:
    """What became of one candidate: ``created``, ``exists`` or ``suppressed`` (with why)."""

    trigger: str
    kind: str
    as_of: datetime
    status: str
    detail: str
    request_id: str | None = None


def count_labels(store: Store, model: ModelConfig, *, after: datetime | None, until: datetime) -> int:
    """Predictions that received label-carrying feedback with time in ``(after, until]``."""
    table = ModelTables.predictions_table(model.name)
    kinds = list(model.ground_truth.priority)
    sql = (f"SELECT count(DISTINCT f.prediction_id) FROM feedback f JOIN {table} p USING (prediction_id) "
           f"WHERE f.model = ? AND f.ts <= ? AND f.kind IN ({', '.join('?' for _ in kinds)}) "
           "AND (f.label IS NOT NULL OR (f.kind = 'implicit' AND f.action = 'accepted' AND ?))")
    params: list[Any] = [model.name, until, *kinds, model.ground_truth.implicit_accept_confirms]
    if after is not None:
        sql += " AND f.ts > ?"
        params.append(after)
    return int(store.query(sql, params)[0][0])


def _settings(model: ModelConfig) -> RetrainSettings:
    if model.retraining is None:
        raise ConfigError(f"model {model.name!r} has no `retraining` section", path=f"models[{model.name}].retraining",
                          hint="add `retraining:` to the model in steward.yaml (see docs/configuration.md); "
                               "`steward init` writes an example")
    return model.retraining


def _candidates(mon: Monitor, model: ModelConfig, until: datetime, baselines: Mapping[str, float]) -> list[Candidate]:
    settings = _settings(model)
    history = [h for h in mon.metric_history(model.name) if h[1] <= until]
    out: list[Candidate] = []
    for rule in model.alerts:
        if rule.retrain:
            out += metric_candidates(rule, history, baselines)
    first: datetime | None = None
    for t in settings.triggers:
        if isinstance(t, MetricTrigger):
            out += metric_candidates(t, history, baselines)
        elif isinstance(t, DriftTrigger):
            out += [c for c in drift_candidates(t, mon.store, model.name) if c.as_of <= until]
        elif isinstance(t, ScheduleTrigger):
            if first is None:
                first = mon.store.query(f"SELECT min(ts) FROM {ModelTables.predictions_table(model.name)}")[0][0]
            out += schedule_candidates(t, until=until, first_data=first)
    return sorted(out, key=lambda c: (c.as_of, c.trigger))


def _guards(model: ModelConfig, trigger: str) -> tuple[int, str]:
    settings = _settings(model)
    for t in settings.triggers:
        if t.name == trigger:
            return (settings.min_new_labels if t.min_new_labels is None else t.min_new_labels,
                    settings.cooldown if t.cooldown is None else t.cooldown)
    return settings.min_new_labels, settings.cooldown


def evaluate_triggers(mon: Monitor, model: str | None = None, *, until: datetime | None = None,
                      baselines: Mapping[str, float] | None = None) -> list[TriggerOutcome]:
    """Evaluate every trigger of ``model`` on the data up to ``until``; make the requests that are due.

    Returns one outcome per candidate window (most are ``exists`` on a repeated run). Does
    nothing (and returns ``[]``) for a model without a ``retraining`` section.
    """
    cfg = mon.model(model)
    if cfg.retraining is None:
        return []
    until = until or _now()
    if baselines is None:
        profile = mon.reference(cfg.name)
        baselines = profile.baselines if profile is not None else dict(cfg.reference.baselines if cfg.reference else {})
    stored = list_requests(mon.store, cfg.name)
    done = {r.dedup_key: r.request_id for r in stored}
    by_trigger: dict[str, list[datetime]] = {}
    for r in stored:
        by_trigger.setdefault(r.trigger, []).append(r.as_of)
    outcomes: list[TriggerOutcome] = []
    for c in _candidates(mon, cfg, until, baselines):
        if c.dedup_key in done:
            outcomes.append(TriggerOutcome(c.trigger, c.kind, c.as_of, "exists", "this episode has a request", done[c.dedup_key]))
            continue
        min_labels, cooldown = _guards(cfg, c.trigger)
        earlier = [t for t in by_trigger.get(c.trigger, []) if t <= c.as_of]
        previous = max(earlier, default=None)
        if previous is not None and c.as_of - previous < parse_duration(cooldown):
            outcomes.append(TriggerOutcome(c.trigger, c.kind, c.as_of, "suppressed",
                                           f"cooldown {cooldown}: previous request about {previous:%Y-%m-%d %H:%M}"))
            continue
        new = count_labels(mon.store, cfg, after=previous, until=c.as_of)
        if new < min_labels:
            outcomes.append(TriggerOutcome(c.trigger, c.kind, c.as_of, "suppressed",
                                           f"{new} new label(s) since the previous request; at least {min_labels} needed"))
            continue
        request = _make_request(mon, cfg, c, new_labels=new)
        done[c.dedup_key] = request.request_id
        by_trigger.setdefault(c.trigger, []).append(c.as_of)
        outcomes.append(TriggerOutcome(c.trigger, c.kind, c.as_of, "created", c.reason, request.request_id))
    return outcomes


def _make_request(mon: Monitor, cfg: ModelConfig, c: Candidate, *, new_labels: int, requested_by: str | None = None) -> RetrainRequest:
    request = RetrainRequest(
        request_id=request_id_for(cfg.name, c.dedup_key), model=cfg.name, trigger=c.trigger, kind=c.kind, dedup_key=c.dedup_key,
        reason=c.reason, evidence=c.evidence, as_of=c.as_of, labels_total=count_labels(mon.store, cfg, after=None, until=c.as_of),
        new_labels=new_labels, requested_by=requested_by,
    )
    if not insert_request(mon.store, request):  # made meanwhile by another process: theirs stands
        return get_request(mon.store, request.request_id)
    export_request(mon, request)
    notify_request(mon, request)
    return request


def export_request(mon: Monitor, request: RetrainRequest, path: str | Path | None = None) -> RetrainRequest:
    """Export the request's labelled data (to ``path``, or ``<export_dir>/<model>/<request_id>.parquet``) and record it."""
    cfg = mon.model(request.model)
    settings = _settings(cfg)
    target = Path(path) if path is not None else Path(settings.export_dir) / cfg.name / f"{request.request_id}.parquet"
    try:
        rows = export_labelled(mon.store, cfg, target, until=request.as_of)
    except OSError as exc:
        request.status = "export_failed"
        request.actions.append({"action": "export", "ok": False, "path": str(target), "error": str(exc),
                                "hint": "check `retraining.export_dir`; retry with `steward retrain export <id>`"})
    else:
        request.status, request.export_path, request.export_rows = "exported", str(target.resolve()), rows
        request.actions.append({"action": "export", "ok": True, "path": request.export_path, "rows": rows})
    update_request(mon.store, request)
    return request


def notify_request(mon: Monitor, request: RetrainRequest) -> RetrainRequest:
    """Run the configured command and POST to the configured webhook for ``request``; log both on it."""
    settings = _settings(mon.model(request.model))
    values = {"request_id": request.request_id, "export_path": request.export_path or "", "model": request.model,
              "trigger": request.trigger}
    if settings.command:
        request.actions.append(run_command(settings.command, values=values, timeout=settings.command_timeout))
    if settings.webhook is not None:
        request.actions.append(post_webhook(settings.webhook.url, request.payload(), headers=settings.webhook.headers,
                                            timeout=settings.webhook.timeout))
    if settings.command or settings.webhook is not None:
        update_request(mon.store, request)
    return request


def request_retrain(mon: Monitor, *, reason: str, model: str | None = None, requested_by: str | None = None,
                    now: datetime | None = None) -> RetrainRequest:
    """An emergency retrain request ("significant product/process change"): no guards, exported and notified now."""
    cfg = mon.model(model)
    _settings(cfg)
    if not reason or not reason.strip():
        raise RetrainError("a manual retrain request needs a reason", hint="say what changed, e.g. --reason 'new product line launched'")
    as_of = now or _now()
    c = Candidate("manual", "manual", as_of.isoformat(), as_of, reason.strip(), {"reason": reason.strip(), "requested_by": requested_by})
    previous = max((r.as_of for r in list_requests(mon.store, cfg.name) if r.as_of <= as_of), default=None)
    return _make_request(mon, cfg, c, new_labels=count_labels(mon.store, cfg, after=previous, until=as_of), requested_by=requested_by)


def after_check(mon: Monitor, cfg: ModelConfig, report: Any, *, until: datetime, profile: Any = None) -> None:
    """The monitoring pass's retraining step: evaluate the triggers (requests made go to
    ``report.retrain_requests``) and warn of overdue orphan feedback (``report.warnings``)."""
    from modelsteward.feedback.orphans import overdue_orphans

    if cfg.retraining is not None:
        baselines = profile.baselines if profile is not None else dict(cfg.reference.baselines if cfg.reference else {})
        report.retrain_requests = [o for o in evaluate_triggers(mon, cfg.name, until=until, baselines=baselines) if o.status == "created"]
    n, oldest = overdue_orphans(mon.store, cfg)
    if n:
        report.warnings.append(
            f"{n} feedback event(s) of {cfg.name} wait for a prediction that has not arrived, for longer than "
            f"{cfg.feedback.orphan_after} (oldest received {oldest:%Y-%m-%d %H:%M} UTC); "
            f"list them with `steward feedback orphans -m {cfg.name}`: was the prediction logged under another id?")
