"""``Monitor``: the SDK a model server uses to log, and the loop that measures and alerts.

>>> import tempfile, os
>>> from modelsteward.config import StewardConfig
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "features": [{"name": "category", "type": "categorical"}]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> pid = mon.log_prediction(prediction_id="p1", features={"category": "technical"},
...                          prediction="urgent", confidence=0.91, latency_ms=120)
>>> mon.log_feedback("p1", kind="explicit", label="routine")
'fb-...'
>>> mon.count_predictions()
1
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from modelsteward.alerts.rules import Evaluation, evaluate_rule
from modelsteward.config import SEVERITY_RANK, ModelConfig, StewardConfig, load_config
from modelsteward.drift.kinds import WindowKinds, stored_diagnoses
from modelsteward.drift.window_drift import DriftResult, window_drift
from modelsteward.engines.connect import limit_store
from modelsteward.errors import NotFoundError
from modelsteward.feedback.collection import collection_rates
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.metrics.window import WINDOW_LENGTH, compute_window_metrics, window_start_sql
from modelsteward.performance.window import window_estimate
from modelsteward.records import feature_column, normalise_feedback, normalise_predictions
from modelsteward.reference import ReferenceProfile, build_reference, load_profile
from modelsteward.store.base import Store
from modelsteward.store.duckdb_store import held_writes
from modelsteward.store.model_tables import ModelTables
from modelsteward.store.open import open_store
from modelsteward.times import naive_utc

if TYPE_CHECKING:
    from modelsteward.review.queue import ReviewQueue
    from modelsteward.review.routing import Router, RoutingDecision

__all__ = ["CheckReport", "IngestResult", "Monitor"]


@dataclass(frozen=True)
class IngestResult:
    """What a batch write did: rows written, and rows already stored with identical content."""

    inserted: int
    duplicates: int

    @property
    def total(self) -> int:
        return self.inserted + self.duplicates


@dataclass
class CheckReport:
    """The outcome of one monitoring pass over a model's due windows."""

    model: str
    windows: list[datetime] = field(default_factory=list)
    evaluations: list[Evaluation] = field(default_factory=list)
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[Any] = field(default_factory=list)  # what the alerting engine sent (firing, resolved, escalated)
    retrain_requests: list[Any] = field(default_factory=list)  # retrain requests this pass made (TriggerOutcome, status created)
    warnings: list[str] = field(default_factory=list)  # things a person should look at that are not alerts (e.g. overdue orphan feedback)

    def worst_severity(self) -> str | None:
        if not self.new_alerts:
            return None
        return max((a["severity"] for a in self.new_alerts), key=lambda s: SEVERITY_RANK[s])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Monitor:
    """Log predictions and feedback for the models of a ``steward.yaml``; measure and alert.

    ``config`` is a path to a ``steward.yaml`` or a :class:`StewardConfig`; ``store`` overrides
    the store path of the configuration (``":memory:"`` for a throwaway store).
    """

    def __init__(self, config: str | Path | StewardConfig, *, store: str | Path | None = None, notifier: Any = None) -> None:
        self.config = config if isinstance(config, StewardConfig) else load_config(config)
        # A DuckDB file, or a postgresql:// URL: both offer the interface of store/base.py's Store.
        self.store: Store = open_store(store if store is not None else self.config.store)
        # engine.memory_limit / temp_directory hold for ingest and the store's own monitoring pass too.
        limit_store(self.store, self.config.engine)
        self._novelty: dict[str, tuple[str, Any]] = {}  # model -> (profile fingerprint, scorer)
        self._routers: dict[str, Any] = {}  # model -> compiled review routing policy
        self._notifier = notifier  # anything with submit(notifications); default: the notification dispatcher
        self._alerting: Any = None
        for model in self.config.models:
            self.store.register_model(model)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Monitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def model(self, name: str | None = None) -> ModelConfig:
        return self.config.model(name)

    # -- logging --------------------------------------------------------------------------
    def log_prediction(
        self,
        *,
        prediction: str | None,
        confidence: float | None,
        features: Mapping[str, Any] | None = None,
        probabilities: Mapping[str, float] | None = None,
        latency_ms: float | None = None,
        model_version: str | None = None,
        timestamp: datetime | str | None = None,
        prediction_id: str | None = None,
        user_id: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        error: str | None = None,
        model: str | None = None,
    ) -> str:
        """Log one prediction; returns its id. Logging the same id and content again is a no-op."""
        cfg = self.model(model)
        record: dict[str, Any] = {
            "prediction_id": prediction_id or str(uuid.uuid4()),
            "prediction": prediction,
            "confidence": confidence,
            "features": dict(features or {}),
            "probabilities": dict(probabilities) if probabilities is not None else None,
            "latency_ms": latency_ms,
            "model_version": model_version,
            "user_id": user_id,
            "attributes": dict(attributes) if attributes is not None else None,
            "error": error,
        }
        if timestamp is not None:
            record["timestamp"] = timestamp
        rows = self._with_novelty(cfg, normalise_predictions([record], cfg))
        self.store.insert_predictions(cfg, rows)
        return record["prediction_id"]

    def log_predictions(
        self,
        data: Any,
        *,
        model: str | None = None,
        columns: Mapping[str, str] | None = None,
        attribute_columns: Sequence[str] = (),
    ) -> IngestResult:
        """Log a batch (pyarrow Table, pandas DataFrame or list of dicts) atomically.

        Every invalid row is reported in one :class:`~modelsteward.errors.BatchRejected` and
        nothing is written; ids already stored with identical content are counted as duplicates.
        """
        cfg = self.model(model)
        rows = self._with_novelty(cfg, normalise_predictions(data, cfg, columns=columns, attribute_columns=attribute_columns))
        return IngestResult(*self.store.insert_predictions(cfg, rows))

    def log_feedback(
        self,
        prediction_id: str,
        *,
        kind: str,
        label: str | None = None,
        rating: float | None = None,
        action: str | None = None,
        escalated: bool | None = None,
        csat: float | None = None,
        resolution_hours: float | None = None,
        reviewer: str | None = None,
        comment: str | None = None,
        timestamp: datetime | str | None = None,
        feedback_id: str | None = None,
        model: str | None = None,
    ) -> str:
        """Log one piece of feedback (explicit, implicit, outcome or expert); returns its id.

        Feedback may arrive before its prediction; it is joined when metrics are computed.
        """
        cfg = self.model(model)
        record = {k: v for k, v in {
            "prediction_id": prediction_id, "kind": kind, "label": label, "rating": rating, "action": action,
            "escalated": escalated, "csat": csat, "resolution_hours": resolution_hours, "reviewer": reviewer,
            "comment": comment, "timestamp": timestamp, "feedback_id": feedback_id,
        }.items() if v is not None}
        rows = normalise_feedback(record, cfg)
        self.store.insert_feedback(cfg, rows)
        return str(rows.column("feedback_id")[0].as_py())

    def log_feedbacks(self, data: Any, *, model: str | None = None) -> IngestResult:
        """Log a batch of feedback records atomically."""
        cfg = self.model(model)
        rows = normalise_feedback(data, cfg)
        return IngestResult(*self.store.insert_feedback(cfg, rows))

    def count_predictions(self, model: str | None = None) -> int:
        return self.store.count_predictions(self.model(model).name)

    # -- review routing -------------------------------------------------------------------
    def route(
        self,
        prediction_id: str,
        *,
        prediction: str | None = None,
        confidence: float | None = None,
        features: Mapping[str, Any] | None = None,
        attributes: Mapping[str, Any] | None = None,
        model_version: str | None = None,
        user_id: str | None = None,
        novelty: float | None = None,
        challengers: Sequence[Mapping[str, Any]] | None = None,
        model: str | None = None,
        enqueue: bool = True,
        routed_at: datetime | None = None,
    ) -> RoutingDecision:
        """Decide whether a person reviews a prediction: every reason that matched, a priority, the queue.

        Pass the prediction's fields (the fast path, nothing is read from the store), or its id
        alone to route a logged prediction. ``challengers`` are other model versions' answers for
        the same input (``{"model_version", "prediction", "confidence"}``); when left out they are
        read from the store. A routed prediction becomes a review item unless ``enqueue`` is false
        or the policy is in shadow mode (``review.enabled: false``). See :mod:`modelsteward.review`.
        """
        from modelsteward.review.service import route

        return route(self, prediction_id, prediction=prediction, confidence=confidence, features=features, attributes=attributes,
                     model_version=model_version, user_id=user_id, novelty=novelty, challengers=challengers, model=model,
                     enqueue=enqueue, routed_at=routed_at)

    def _router(self, cfg: ModelConfig) -> Router:
        router = self._routers.get(cfg.name)
        if router is None or router.settings is not cfg.review:
            from modelsteward.review.routing import Router

            router = self._routers[cfg.name] = Router(cfg)
        return router

    def review_queue(self, model: str | None = None, *, clock: Callable[[], datetime] | None = None) -> ReviewQueue:
        """The model's review queue: list, claim and decide items (see :class:`~modelsteward.review.ReviewQueue`)."""
        from modelsteward.review.queue import ReviewQueue

        return ReviewQueue(self, model, clock=clock)

    # -- novelty --------------------------------------------------------------------------
    def _novelty_scorer(self, cfg: ModelConfig) -> Any | None:
        """The model's novelty scorer, built with the reference profile and kept in memory."""
        if not cfg.novelty or cfg.reference is None:
            return None
        profile = self.reference(cfg.name)
        if profile is None or not profile.novelty:
            return None
        key = str(profile.source.get("fingerprint"))
        cached = self._novelty.get(cfg.name)
        if cached is None or cached[0] != key:
            from modelsteward.drift.novelty import NoveltyScorer

            cached = (key, NoveltyScorer.from_dict(profile.novelty))
            self._novelty[cfg.name] = cached
        return cached[1]

    def novelty(self, features: Mapping[str, Any], *, model: str | None = None) -> float | None:
        """How unusual an input is against the reference: a percentile in [0, 100] (None when the
        model has no novelty scorer; set ``novelty: true`` and a reference in steward.yaml)."""
        scorer = self._novelty_scorer(self.model(model))
        return None if scorer is None else float(scorer.score_one(features))

    def _with_novelty(self, cfg: ModelConfig, rows: pa.Table) -> pa.Table:
        scorer = self._novelty_scorer(cfg)
        if scorer is None or rows.num_rows == 0:
            return rows
        cols = {f.name: rows.column(feature_column(f.name)).to_numpy(zero_copy_only=False) for f in cfg.features}
        scores = scorer.score_many(cols)
        return rows.append_column(pa.field("novelty", pa.float64()), pa.array(scores, type=pa.float64()))

    # -- reference ------------------------------------------------------------------------
    def reference(self, model: str | None = None, *, rebuild: bool = False) -> ReferenceProfile | None:
        """The stored reference profile, built on first use and rebuilt when its inputs change.

        The profile records a fingerprint of what it was built from (the reference settings,
        the features, the bin count, and the file's size and modification time); a profile
        whose fingerprint no longer matches is rebuilt, so editing the reference takes effect
        at the next check without recomputing it on every run.
        """
        cfg = self.model(model)
        if cfg.reference is None:
            return None
        fingerprint = _reference_fingerprint(cfg, self._period_state(cfg))
        if not rebuild:
            try:
                profile = load_profile(self.store, cfg.name)
                if profile.source.get("fingerprint") == fingerprint:
                    return profile
            except NotFoundError:
                pass
        profile = build_reference(self.store, cfg)
        source = {**profile.source, "fingerprint": fingerprint}
        with self.store.transaction() as con:
            con.execute("UPDATE reference_profiles SET source = ? WHERE model = ?", [json.dumps(source), cfg.name]).fetchall()
        return replace(profile, source=source)

    def _period_state(self, cfg: ModelConfig) -> list[Any] | None:
        """For a period reference: how much was logged into the period, and when, last."""
        ref = cfg.reference
        if ref is None or ref.start is None:
            return None
        table = ModelTables.predictions_table(cfg.name)
        n, last = self.store.query(f"SELECT count(*), max(ingested_at) FROM {table} WHERE ts >= ? AND ts < ?", [ref.start, ref.end])[0]
        fb = self.store.query(
            f"SELECT max(f.ingested_at) FROM feedback f JOIN {table} p USING (prediction_id) WHERE f.model = ? AND p.ts >= ? AND p.ts < ?",
            [cfg.name, ref.start, ref.end])[0][0]
        return [int(n), str(last), str(fb)]

    # -- the monitoring pass ----------------------------------------------------------------
    def due_windows(self, model: str | None = None, *, until: datetime | None = None) -> list[datetime]:
        """Windows that have ended by ``until`` and are new or received data since last computed."""
        cfg = self.model(model)
        until = naive_utc(until or _now())  # stored times are naive UTC
        table = ModelTables.predictions_table(cfg.name)
        win = window_start_sql(cfg)
        length = WINDOW_LENGTH[cfg.window]
        latest: dict[datetime, datetime] = {}
        for ws, ingested in self.store.query(f"SELECT {win}, max(ingested_at) FROM {table} GROUP BY 1"):
            latest[ws] = ingested
        win_p = window_start_sql(cfg, "p.ts")
        for ws, ingested in self.store.query(
            f"SELECT {win_p}, max(f.ingested_at) FROM feedback f JOIN {table} p USING (prediction_id) WHERE f.model = ? GROUP BY 1",
            [cfg.name],
        ):
            latest[ws] = max(latest.get(ws, ingested), ingested)
        computed = dict(self.store.query(
            "SELECT window_start, min(computed_at) FROM window_metrics WHERE model = ? GROUP BY 1", [cfg.name]))
        changed = {ws for ws, ing in latest.items() if ws + length <= until and (ws not in computed or ing >= computed[ws])}
        # Windows without a single prediction are due too: an outage must show as volume 0.
        empty = {ws for ws in self._ended_windows(cfg, min(latest, default=None), until) if ws not in latest and ws not in computed}
        return sorted(changed | empty)

    @staticmethod
    def _ended_windows(cfg: ModelConfig, first: datetime | None, until: datetime) -> list[datetime]:
        """Every window from the one holding ``first`` to the last that ended by ``until``."""
        if first is None:
            return []
        length = WINDOW_LENGTH[cfg.window]
        out, start = [], first
        while start + length <= until:
            out.append(start)
            start += length
        return out

    def check(
        self,
        model: str | None = None,
        *,
        until: datetime | None = None,
        everything: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> CheckReport:
        """Compute metrics and drift of the due windows, evaluate the alert rules, store alerts.

        ``everything`` recomputes every ended window, not only new or changed ones;
        ``progress(done, total)`` is called after each window (for a progress bar).
        """
        cfg = self.model(model)
        until = naive_utc(until or _now())  # stored times are naive UTC
        profile = self.reference(cfg.name)
        due = self.due_windows(cfg.name, until=until)
        if everything:
            table = ModelTables.predictions_table(cfg.name)
            first = self.store.query(f"SELECT min({window_start_sql(cfg)}) FROM {table}")[0][0]
            due = self._ended_windows(cfg, first, until)
        report = CheckReport(cfg.name, due)
        kinds = WindowKinds(self.store, cfg, profile)  # concept, multivariate and text drift; the diagnosis
        length = WINDOW_LENGTH[cfg.window]
        for done, start in enumerate(due, start=1):
            # Stamped before reading: data that arrives while the window is computed leaves it due.
            computed_at = _now()
            metrics = compute_window_metrics(self.store, cfg, start, start + length, profile=profile).get(start)
            if metrics is None:  # no prediction at all in this window
                metrics = {"volume": 0.0, "unique_users": 0.0, "labelled": 0.0}
            drift = window_drift(self.store, cfg, profile, start, start + length) if profile is not None else []
            metrics.update(_drift_metrics(drift))
            drift = self._store_window_steps(cfg, kinds, profile, start, start + length, metrics, drift)
            self._save_window(cfg, start, start + length, metrics, drift, computed_at=computed_at)
            if progress is not None:
                progress(done, len(due))
        with held_writes(self.store):  # alert states and triggers: read and written with no request in between
            self._after_windows(cfg, report, profile, until)
        return report

    def _store_window_steps(self, cfg: ModelConfig, kinds: WindowKinds, profile: ReferenceProfile | None, start: datetime,
                            end: datetime, metrics: dict[str, float | None], drift: list[DriftResult]) -> list[DriftResult]:
        """A window's steps that read the store's own events, after its metrics and drift (on any engine).

        Feedback collection rates, review progress, the CBPE estimate, then concept, multivariate
        and text drift and the diagnosis. Adds to ``metrics``; returns ``drift`` with theirs. The
        CBPE estimate and concept drift read the events on ``kinds.engine`` (None: the store's).
        """
        metrics.update(collection_rates(self.store, cfg, start, end))
        if cfg.review is not None:
            from modelsteward.review.progress import review_window_metrics

            metrics.update(review_window_metrics(self.store, cfg, start, end))
        if profile is not None and profile.calibration:
            metrics.update(window_estimate(self.store, cfg, profile.calibration, start, end, engine=kinds.engine))
        kind_metrics, kind_drift = kinds.window(start, end, metrics, drift)
        metrics.update(kind_metrics)
        return [*drift, *kind_drift]

    def _after_windows(self, cfg: ModelConfig, report: CheckReport, profile: ReferenceProfile | None, until: datetime) -> None:
        """After the windows are stored: alert rules, alert states and incidents, retraining triggers."""
        report.evaluations, report.new_alerts = self._evaluate_rules(cfg, profile)
        report.notifications = self.alerting.process(cfg, report.evaluations, now=until)
        from modelsteward.retrain.evaluate import after_check

        after_check(self, cfg, report, until=until, profile=profile)

    def _save_window(self, cfg: ModelConfig, start: datetime, end: datetime, metrics: Mapping[str, float | None],
                     drift: list[DriftResult], *, computed_at: datetime | None = None) -> None:
        now = computed_at or _now()
        with self.store.transaction() as con:
            con.execute("DELETE FROM window_metrics WHERE model = ? AND window_start = ?", [cfg.name, start]).fetchall()
            con.executemany("INSERT INTO window_metrics VALUES (?, ?, ?, ?, ?, ?)",
                            [[cfg.name, start, end, k, v, now] for k, v in sorted(metrics.items())])
            con.execute("DELETE FROM drift_results WHERE model = ? AND window_start = ?", [cfg.name, start]).fetchall()
            if drift:
                con.executemany(
                    "INSERT INTO drift_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[cfg.name, start, end, d.subject, d.test, d.statistic, d.p_value, d.effect_size, d.status, d.reading,
                      d.n_reference, d.n_current, json.dumps(d.details, default=str), now] for d in drift],
                )

    def _evaluate_rules(self, cfg: ModelConfig, profile: ReferenceProfile | None) -> tuple[list[Evaluation], list[dict[str, Any]]]:
        history = self.metric_history(cfg.name)
        baselines = profile.baselines if profile is not None else dict(cfg.reference.baselines if cfg.reference else {})
        evaluations: list[Evaluation] = []
        new_alerts: list[dict[str, Any]] = []
        now = _now()
        for rule in cfg.alerts:
            evals = evaluate_rule(rule, history, baselines)
            evaluations.extend(evals)
            with self.store.transaction() as con:
                con.execute("DELETE FROM rule_evaluations WHERE model = ? AND rule = ?", [cfg.name, rule.name]).fetchall()
                if evals:
                    con.executemany(
                        "INSERT INTO rule_evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [[cfg.name, e.rule, e.window_start, e.metric, e.value, e.baseline, e.threshold, e.holds, e.streak, e.fired, now]
                         for e in evals],
                    )
                fired_before = {r[0] for r in con.execute(
                    "SELECT window_start FROM alerts WHERE model = ? AND rule = ?", [cfg.name, rule.name]).fetchall()}
                for e in evals:
                    if not e.fired or e.window_start in fired_before:
                        continue
                    alert = {
                        "alert_id": str(uuid.uuid4()), "model": cfg.name, "rule": rule.name,
                        "window_start": e.window_start, "window_end": e.window_end, "metric": e.metric,
                        "value": e.value, "baseline": e.baseline, "threshold": e.threshold, "severity": rule.severity,
                        "message": _alert_message(rule.name, e), "action": rule.action, "owner": rule.owner or cfg.owner,
                        "runbook": rule.runbook, "response_sla": rule.response_sla, "retrain": rule.retrain, "fired_at": now,
                    }
                    con.execute(f"INSERT INTO alerts VALUES ({', '.join('?' for _ in alert)})", list(alert.values())).fetchall()
                    new_alerts.append(alert)
        return evaluations, new_alerts

    @property
    def alerting(self) -> Any:
        """The :class:`~modelsteward.alerts.engine.AlertEngine`: alert states, incidents, silences, escalation."""
        if self._alerting is None:
            from modelsteward.alerts.engine import AlertEngine

            notifier = self._notifier
            if notifier is None:
                from modelsteward.alerts.notify import Dispatcher

                notifier = Dispatcher(self.store, self.config)
            self._alerting = AlertEngine(self.store, self.config, notifier=notifier)
        return self._alerting

    # -- reading --------------------------------------------------------------------------
    def metric_history(self, model: str | None = None) -> list[tuple[datetime, datetime, dict[str, float | None]]]:
        """Stored window metrics in time order: ``(start, end, {metric: value})``."""
        cfg = self.model(model)
        out: dict[datetime, tuple[datetime, dict[str, float | None]]] = {}
        for ws, we, metric, value in self.store.query(
            "SELECT window_start, window_end, metric, value FROM window_metrics WHERE model = ? ORDER BY window_start", [cfg.name]
        ):
            out.setdefault(ws, (we, {}))[1][metric] = value
        return [(ws, we, m) for ws, (we, m) in sorted(out.items())]

    def metrics(self, model: str | None = None, *, start: datetime | None = None, end: datetime | None = None) -> pa.Table:
        """Window metrics as a table: one row per window, one column per metric.

        Every metric any of the windows has is a column (null where a window lacks it): a
        metric may be missing from the first window (no labels yet, no errors of a type).
        """
        history = [(ws, we, m) for ws, we, m in self.metric_history(model)
                   if (start is None or ws >= start) and (end is None or ws < end)]
        names = sorted({k for _, _, m in history for k in m})
        columns: dict[str, pa.Array] = {
            "window_start": pa.array([ws for ws, _, _ in history], pa.timestamp("us")),
            "window_end": pa.array([we for _, we, _ in history], pa.timestamp("us")),
        }
        for name in names:
            columns[name] = pa.array([m.get(name) for _, _, m in history], pa.float64())
        return pa.table(columns)

    def drift(self, model: str | None = None, *, window_start: datetime | None = None) -> list[dict[str, Any]]:
        """Stored drift results, of one window or of all."""
        cfg = self.model(model)
        sql = ("SELECT window_start, window_end, subject, test, status, reading, statistic, p_value, effect_size, "
               "n_reference, n_current FROM drift_results WHERE model = ?")
        params: list[Any] = [cfg.name]
        if window_start is not None:
            sql += " AND window_start = ?"
            params.append(window_start)
        return self.store.query_dicts(sql + " ORDER BY window_start, subject, test", params)

    def diagnosis(self, model: str | None = None, *, window_start: datetime | None = None) -> list[dict[str, Any]]:
        """Stored per-window diagnoses (which kinds of drift, and why), of one window or of all."""
        return stored_diagnoses(self.store, self.model(model).name, window_start=window_start)

    def alerts(self, model: str | None = None, *, min_severity: str = "info") -> list[dict[str, Any]]:
        """Fired alerts in order of window, then severity (most severe first)."""
        cfg = self.model(model)
        rows = self.store.query_dicts("SELECT * FROM alerts WHERE model = ? ORDER BY window_start, fired_at", [cfg.name])
        floor = SEVERITY_RANK[min_severity]
        rows = [r for r in rows if SEVERITY_RANK[r["severity"]] >= floor]
        return sorted(rows, key=lambda r: (r["window_start"], -SEVERITY_RANK[r["severity"]], r["rule"]))

    def labelled(self, model: str | None = None) -> pa.Table:
        """Every prediction with its resolved ground-truth label and the source of that label."""
        cfg = self.model(model)
        labels_sql, params = resolved_labels_sql(cfg)
        table = ModelTables.predictions_table(cfg.name)
        return self.store.query_arrow(
            f"SELECT p.*, l.label, l.source AS label_source FROM {table} p JOIN ({labels_sql}) l USING (prediction_id) ORDER BY p.ts",
            params,
        )


PROFILE_FORMAT = 4  # bump when the stored profile gains a part (2: reference ECDF; 3: calibration; 4: novelty)


def _reference_fingerprint(cfg: ModelConfig, period_state: Any = None) -> str:
    """What a reference profile depends on; the profile is rebuilt when this changes."""
    ref = cfg.reference
    assert ref is not None
    parts: dict[str, Any] = {
        "format": PROFILE_FORMAT,
        "window": cfg.window,
        "period_state": period_state,
        "reference": ref.model_dump(mode="json"),
        "features": [f.model_dump(mode="json") for f in cfg.features],
        "labels": cfg.labels,
        "novelty": cfg.novelty,
        "bins": cfg.drift.bins,
        "low_confidence_threshold": cfg.low_confidence_threshold,
        "ground_truth": cfg.ground_truth.model_dump(mode="json"),
    }
    if ref.file:
        path = Path(ref.file)
        if path.exists():
            st = path.stat()
            parts["file"] = [st.st_size, st.st_mtime_ns]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _drift_metrics(drift: list[DriftResult]) -> dict[str, float | None]:
    """Drift results as window metrics: ``drift.<subject>.<test>`` (the effect size), with
    ``_statistic``, ``_p_value`` and ``_p_adjusted``; counts of drifted inputs."""
    out: dict[str, float | None] = {}
    verdicts = [d for d in drift if d.test == "verdict" and d.subject not in ("confidence", "prediction", "label", "inputs")]
    if verdicts:
        out["drift.features_drifted"] = float(sum(d.status == "drift" for d in verdicts))
    for d in drift:
        if d.subject == "inputs":
            out["drift.inputs_drifted"] = 1.0 if d.status == "drift" else 0.0
            continue
        if d.test == "verdict":
            continue
        base = f"drift.{d.subject}.{d.test}"
        out[base] = _finite(d.effect_size)
        out[base + "_statistic"] = _finite(d.statistic)
        if d.p_value is not None:
            out[base + "_p_value"] = d.p_value
            out[base + "_p_adjusted"] = d.details.get("p_adjusted")
        if "max_share_change_pp" in d.details:
            out[f"drift.{d.subject}.max_share_change_pp"] = d.details["max_share_change_pp"]
    return out


def _finite(x: float | None) -> float | None:
    """An infinite effect (a constant reference that moved) is stored as NULL, not as a number."""
    return None if x is None or not math.isfinite(x) else x


def _alert_message(rule: str, e: Evaluation) -> str:
    value = "no value" if e.value is None else f"{e.value:.4g}"
    return f"{e.metric} = {value} (fires when {e.threshold})"
