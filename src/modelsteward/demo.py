"""``steward demo``: the course lab run through the product, week by week.

:func:`run_demo` writes the example ``steward.yaml`` and the lab's training data into a
folder, logs the lab's eight weeks through the SDK into a fresh store, runs the monitoring
pass after each week, and collects what the lab asks for: the weekly table, the confidence KS
test of training against weeks 5–8, the change in the technical share, every alert that fires,
answers to the lab's four questions derived from the stored data, and an HTML report.

The store is a DuckDB file in the folder, or a PostgreSQL database given by URL (``store=``,
``steward demo --store postgresql://...``), which must hold no model yet: the demo writes its
URL into the folder's ``steward.yaml``, so ``steward serve -c`` on that file serves the demo.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from modelsteward.drift.window_drift import window_drift
from modelsteward.lab import DEMO_START, LabDraws, lab_draws, lab_events
from modelsteward.monitor import Monitor
from modelsteward.report.html import Section, Table, write_report
from modelsteward.report.model_report import model_sections

__all__ = ["DemoResult", "run_demo"]

DRIFT_WEEK = 5


@dataclass
class DemoResult:
    """Everything ``steward demo`` prints, as data (also its ``--json`` output)."""

    folder: str
    store: str
    report: str
    weekly: list[dict[str, Any]] = field(default_factory=list)
    ks: dict[str, Any] = field(default_factory=dict)
    technical: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, str]] = field(default_factory=list)


def _week_of(ws: Any) -> int:
    return (ws - DEMO_START).days // 7 + 1


def run_demo(folder: str | Path, *, progress: Callable[[str], None] | None = None, fresh: bool = True,
             store: str | None = None) -> DemoResult:
    """Run the lab scenario into ``folder`` (created; emptied of a previous demo when ``fresh``).

    ``store``: a ``postgresql://`` URL of a database holding no model, instead of the folder's DuckDB file.
    """
    say = progress or (lambda _msg: None)
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    store_path: str | Path = folder / "steward.duckdb"
    if store is not None:
        store_path = _empty_postgres(store)
    elif fresh:
        for name in ("steward.duckdb", "steward.duckdb.wal"):
            (folder / name).unlink(missing_ok=True)
    config_path = folder / "steward.yaml"
    with resources.as_file(resources.files("modelsteward") / "templates" / "steward.yaml") as template:
        text = template.read_text(encoding="utf-8")
    if store is not None:  # the template's one `store:` line names the database instead
        text = re.sub(r"(?m)^store: .*$", lambda _m: "store: " + json.dumps(store), text, count=1)
    config_path.write_text(text, encoding="utf-8")
    draws = lab_draws()
    events = lab_events(draws)
    pq.write_table(pa.table(events.training), folder / "training.parquet")

    result = DemoResult(str(folder), str(store_path), str(folder / "steward-report.html"))
    with Monitor(config_path) as mon:
        model = mon.model()
        by_week: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for p in events.predictions:
            by_week.setdefault(_week_of(p["timestamp"]), ([], []))[0].append(p)
        week_of_pred = {p["prediction_id"]: _week_of(p["timestamp"]) for p in events.predictions}
        for f in events.feedback:
            by_week[week_of_pred[f["prediction_id"]]][1].append(f)
        for week in sorted(by_week):
            preds, fbs = by_week[week]
            mon.log_predictions(preds)
            mon.log_feedbacks(fbs)
            report = mon.check(until=DEMO_START + timedelta(weeks=week))
            say(f"week {week}: logged {len(preds)} predictions and {len(fbs)} feedback events; "
                f"{len(report.new_alerts)} alert(s) fired")

        history = mon.metric_history()
        profile = mon.reference()
        assert profile is not None
        for (ws, _, m), wk in zip(history, draws.weeks, strict=True):
            lab_row = {"accuracy": float(wk.correct.mean()), "confidence": float(wk.confidence.mean()),
                       "technical": float(wk.technical.mean())}
            result.weekly.append({
                "week": _week_of(ws), "window_start": ws.date().isoformat(),
                "accuracy": m["accuracy"], "mean_confidence": m["mean_confidence"],
                "technical_share": m["feature.category.share.technical"],
                "label_coverage": m["label_coverage"], "volume": int(m["volume"] or 0),
                "lab": lab_row,
                "matches_lab": all(a is not None and math.isclose(a, b, rel_tol=0, abs_tol=1e-12) for a, b in (
                    (m["accuracy"], lab_row["accuracy"]), (m["mean_confidence"], lab_row["confidence"]),
                    (m["feature.category.share.technical"], lab_row["technical"]))),
            })

        recent_start = DEMO_START + timedelta(weeks=DRIFT_WEEK - 1)
        recent_end = DEMO_START + timedelta(weeks=len(draws.weeks))
        recent = {(d.subject, d.test): d for d in window_drift(mon.store, model, profile, recent_start, recent_end)}
        result.ks = _ks_summary(recent[("confidence", "ks")], draws)
        result.technical = _technical_summary(recent, draws)
        result.alerts = [{"week": _week_of(a["window_start"]), "severity": a["severity"], "rule": a["rule"],
                          "message": a["message"], "action": a["action"], "retrain": a["retrain"]} for a in mon.alerts()]
        from modelsteward.lab_answers import answer_lab_questions

        result.answers = answer_lab_questions(mon, history, recent, result.alerts, _week_of)
        sections = model_sections(model, history, profile.baselines, mon.drift(), mon.alerts(),
                                  x_labels=[f"Week {_week_of(ws)}" for ws, _, _ in history], x_title="Week")
        write_report(result.report, title=f"{model.name}: the course lab, monitored",
                     subtitle="Eight weeks of the week 9 lab logged through modelsteward; drift from week 5.",
                     sections=[*sections[:1], _lab_section(result), *sections[1:]])
    return result


def _empty_postgres(url: str) -> str:
    """Check the PostgreSQL database at ``url`` can take the demo (no model in it); returns the URL with its password hidden."""
    from modelsteward.errors import ConfigError
    from modelsteward.store.open import is_postgres_url, open_store
    from modelsteward.store.postgres_store import redact_url

    if not is_postgres_url(url):
        raise ConfigError(f"--store {url!r} is not a postgresql:// URL",
                          hint="give postgresql://user@host/db of an empty database, or leave --store out for a DuckDB file in the folder")
    store = open_store(url)
    try:
        models = store.model_names()
    finally:
        store.close()
    if models:
        raise ConfigError(f"the database {redact_url(url)} already holds model(s) {', '.join(models)}; the demo needs an empty one",
                          hint="create a new database (createdb steward_demo) and pass its URL to --store")
    return redact_url(url)


def _ks_summary(ks: Any, draws: LabDraws) -> dict[str, Any]:
    recent_conf = [c for wk in draws.weeks[DRIFT_WEEK - 1:] for c in wk.confidence]
    ref = stats.ks_2samp(draws.training_confidence, recent_conf)
    return {"statistic": ks.statistic, "p_value": ks.p_value, "n_reference": ks.n_reference, "n_current": ks.n_current,
            "drift_detected": ks.p_value < 0.05,
            "scipy_statistic": float(ref.statistic), "scipy_p_value": float(ref.pvalue),
            "matches_scipy": math.isclose(ks.statistic, ref.statistic, rel_tol=1e-9)
            and math.isclose(ks.p_value, ref.pvalue, rel_tol=1e-9)}


def _technical_summary(recent: dict[tuple[str, str], Any], draws: LabDraws) -> dict[str, Any]:
    shares = recent[("category", "total_variation")].details["shares"]["technical"]
    lab_train = float(draws.training_technical.mean())
    lab_recent = float(sum(wk.technical.sum() for wk in draws.weeks[DRIFT_WEEK - 1:]) /
                       sum(len(wk.technical) for wk in draws.weeks[DRIFT_WEEK - 1:]))
    chi = recent[("category", "chi2")]
    return {"training": shares["reference"], "recent": shares["current"], "change_pp": shares["change_pp"],
            "drift_detected": abs(shares["change_pp"]) > 10, "chi2_p_value": chi.p_value,
            "matches_lab": math.isclose(shares["reference"], lab_train, abs_tol=1e-12)
            and math.isclose(shares["current"], lab_recent, abs_tol=1e-12)}


def _lab_section(result: DemoResult) -> Section:
    weekly = Table(
        "Weekly metrics (the lab's Task 1)",
        ["Week", "Accuracy", "Mean confidence", "% Technical", "Lab accuracy", "Lab confidence", "Lab % technical", "Equal to the lab"],
        [[w["week"], f"{w['accuracy']:.3f}", f"{w['mean_confidence']:.6f}", f"{w['technical_share']:.3f}",
          f"{w['lab']['accuracy']:.3f}", f"{w['lab']['confidence']:.6f}", f"{w['lab']['technical']:.3f}",
          "yes" if w["matches_lab"] else "NO"] for w in result.weekly],
    )
    ks = result.ks
    tests = Table(
        "Drift tests, training against weeks 5–8 (the lab's Task 2)",
        ["Test", "Result", "Drift detected"],
        [["Confidence, two-sample KS", f"statistic {ks['statistic']:.4f}, p-value {ks['p_value']:.4g} "
          f"(scipy: {ks['scipy_statistic']:.4f}, {ks['scipy_p_value']:.4g})", "YES" if ks["drift_detected"] else "No"],
         ["Technical ticket rate", f"{result.technical['training']:.1%} → {result.technical['recent']:.1%} "
          f"({result.technical['change_pp']:+.1f} percentage points)", "YES" if result.technical["drift_detected"] else "No"]],
    )
    return Section("The lab's questions, answered from the data",
                   paragraphs=[f"{a['question']} — {a['answer']}" for a in result.answers], tables=[weekly, tests])
