"""Concept drift inside the monitoring run: one window's labelled predictions against the reference.

:func:`window_concept` returns the window metrics and drift results of three pieces of evidence:

* the fall of realised accuracy and F1 against the reference (:mod:`~modelsteward.drift.concept`),
  as ``concept.accuracy_drop`` / ``concept.f1_drop`` with ``_lower``, ``_upper`` and ``_p_value``,
  and ``concept.dropped`` (1 when either fell significantly and by at least ``min_drop``);
* what CBPE expects the accuracy of *these labelled predictions* to be if the reference's
  calibration of confidence still holds (``concept.expected_accuracy`` with its 95 % interval
  for the realised value) and the gap ``concept.accuracy_gap`` = realised minus expected. The
  estimate is made on exactly the predictions that carry a label, so a label sample that is
  not random in confidence does not pass for concept drift;
* online detectors on the error stream (1 wrong, 0 right) of the labelled predictions in time
  order (:mod:`~modelsteward.drift.online`; ADWIN by default): each first reads up to
  ``warmup`` labelled predictions from before the window, then the window's; the change
  points found inside the window are reported with their time and the error rate before and
  after (``concept.errors.<detector>_changes``). Reading a bounded warm-up rather than the
  whole history keeps the cost per window flat and the result independent of the order in
  which windows are checked.

Every aggregation runs on an engine (the store's own by default; ``steward check --engine``
passes its own), written once as Ibis expressions in :mod:`~modelsteward.engines.streams`:
only the window's error stream (about 9 bytes per labelled prediction, thinned to at most
:data:`~modelsteward.engines.streams.STREAM_CAP` of them), the small confusion matrices and
the confidence bins reach Python.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.drift.concept import DropTest, accuracy_drop, f1_drop
from modelsteward.drift.online import ADWIN, DDM, DriftDetector, PageHinkley
from modelsteward.drift.window_drift import DriftResult
from modelsteward.engines import streams
from modelsteward.engines.connect import Engine, store_engine
from modelsteward.errors import InsufficientDataError
from modelsteward.performance import ConfidenceCalibrator, ConfidenceSummary, estimate_from_summary, summary_edges
from modelsteward.reference import ReferenceProfile
from modelsteward.store.base import Store
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["DETECTORS", "error_stream_changes", "window_concept"]

DETECTORS: dict[str, type[DriftDetector]] = {"adwin": ADWIN, "ddm": DDM, "page_hinkley": PageHinkley}
_AROUND = 200  # labelled predictions either side of a change point used for the error rates shown


def _labelled(engine: Engine, model: ModelConfig, start: datetime | None, end: datetime) -> Any:
    """The engine's labelled predictions in ``[start, end)`` (None when the engine has no feedback)."""
    feedback = engine.feedback(model)
    if feedback is None:
        return None
    return streams.labelled_rows(engine.events(model), feedback, model, start, end)


def _window_confusion(engine: Engine, labelled: Any) -> dict[tuple[str, str], int]:
    if labelled is None:
        return {}
    return {(str(r["prediction"]), str(r["label"])): int(r["n"]) for r in engine.rows(streams.labelled_confusion(labelled))}


def _reference_confusion(store: Store, model: ModelConfig) -> dict[tuple[str, str], int]:
    table = DuckDBStore.reference_table(model.name)
    if not store.query("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table.strip('"')])[0][0]:
        return {}  # no reference rows stored: the declared baselines alone will do
    rows = store.query(f"SELECT prediction, label, count(*) FROM {table} WHERE prediction IS NOT NULL AND label IS NOT NULL GROUP BY 1, 2")
    return {(str(p), str(t)): int(n) for p, t, n in rows}


def _drop_metrics(prefix: str, d: DropTest) -> dict[str, float | None]:
    return {f"concept.{prefix}_drop": d.drop, f"concept.{prefix}_drop_lower": d.lower,
            f"concept.{prefix}_drop_upper": d.upper, f"concept.{prefix}_drop_p_value": d.p_value}


def _drop_result(d: DropTest, settings: Any) -> DriftResult:
    name = "accuracy" if d.metric == "accuracy" else "F1" + (f" of {d.metric.split('.', 1)[1]}" if "." in d.metric else " (macro)")
    span = f"95% interval of the fall {d.lower * 100:+.1f} to {d.upper * 100:+.1f} points, one-sided p = {d.p_value:.2g}"
    if d.significant:
        status, reading = "drift", f"{name} fell {d.drop * 100:.1f} points ({d.reference:.3f} -> {d.current:.3f}; {span})."
    elif d.p_value < settings.alpha and d.drop > 0:
        status, reading = "small_change", (f"{name} fell {d.drop * 100:.1f} points ({d.reference:.3f} -> {d.current:.3f}), "
                                           f"a real but small fall (below {settings.min_drop * 100:.0f} points; {span}).")
    else:
        verb = "fell" if d.drop > 0 else "rose"
        status, reading = "no_drift", (f"{name} {verb} {abs(d.drop) * 100:.1f} points ({d.reference:.3f} -> {d.current:.3f}), "
                                       f"not a significant fall ({span}).")
    return DriftResult("concept", d.metric.split(".")[0].replace("_macro", ""), status, reading, statistic=d.current,
                       p_value=d.p_value, effect_size=d.drop, n_reference=d.n_reference or 0, n_current=d.n_current,
                       details={**d.to_dict(), "test": "accuracy_drop" if d.metric == "accuracy" else "f1_drop"})


def _expected_accuracy(engine: Engine, model: ModelConfig, calibration: dict[str, Any],
                       labelled: Any) -> tuple[float, float, float] | None:
    """CBPE's accuracy for the window's labelled predictions and the 95 % interval of its realised value."""
    calibrator = ConfidenceCalibrator.from_dict(calibration["calibrator"])
    positive = calibration.get("positive_calibrator")
    positive_calibrator = ConfidenceCalibrator.from_dict(positive) if positive else None
    positive_label = model.positive if model.task == "binary" else None
    edges = summary_edges(model.labels, calibrator=calibrator, positive_label=positive_label, positive_calibrator=positive_calibrator)
    rows = [(r["prediction"], r["bin"], r["n"], r["s1"], r["s2"]) for r in engine.rows(streams.confidence_bins(labelled, edges, engine))]
    summary = ConfidenceSummary.from_rows(rows, edges)
    if summary.n == 0:
        return None
    try:
        est = estimate_from_summary(summary, labels=model.labels, calibrator=calibrator, positive_label=positive_label,
                                    positive_calibrator=positive_calibrator, error_mix=calibration.get("error_mix"))
    except InsufficientDataError:
        return None
    return est.accuracy.value, est.accuracy.lower, est.accuracy.upper


def error_stream_changes(errors: np.ndarray, times: Any, window_from: int, detector: DriftDetector, *,
                         chunk: int = 65_536) -> list[dict[str, Any]]:
    """Run ``detector`` over the whole stream; the change points at or after position ``window_from``.

    ``times`` is indexable by position (a list, or an Arrow array of timestamps). The stream is
    fed in chunks so that no Python list of the whole window is built. Each change point gives
    its time, its position in the window, and the error rates of up to 200 labelled predictions
    before and after it.

    >>> errs = np.array([0] * 300 + [1, 0] * 150 + [1] * 100, dtype=float)
    >>> stamps = [datetime(2026, 1, 1)] * errs.size
    >>> [c["position"] for c in error_stream_changes(errs, stamps, 0, ADWIN())][:1]
    [351]
    """
    found: list[int] = []
    for begin in range(0, errors.size, chunk):
        found += [begin + i for i in detector.update_many(errors[begin:begin + chunk].tolist())]
    out = []
    for i in found:
        if i < window_from:
            continue
        before = errors[max(0, i - _AROUND):i + 1]
        after = errors[i + 1:i + 1 + _AROUND]
        when = times[i]
        out.append({"position": i - window_from, "time": when.as_py() if hasattr(when, "as_py") else when,
                    "error_rate_before": float(before.mean()) if before.size else None,
                    "error_rate_after": float(after.mean()) if after.size else None})
    return out


def _stream(engine: Engine, expr: Any) -> tuple[np.ndarray, pa.Array]:
    """The errors (as floats) and naive-UTC times of a ``(ts, e)`` stream."""
    t = engine.arrow(expr)
    times = t.column("ts").combine_chunks()
    if getattr(times.type, "tz", None) is not None:
        times = times.cast(pa.timestamp(times.type.unit))  # engines may return UTC-aware times; the store's are naive UTC
    return t.column("e").to_numpy(zero_copy_only=False).astype(np.float64), times


def _online(engine: Engine, model: ModelConfig, labelled: Any, n: int, start: datetime,
            end: datetime) -> tuple[dict[str, float | None], list[DriftResult]]:
    settings = model.diagnosis.concept
    # The warm-up (latest first, reversed here), then the window thinned to at most STREAM_CAP (about 9 bytes a prediction).
    every = streams.thinning(n)
    warm_errors, warm_times = _stream(engine, streams.warmup_stream(_labelled(engine, model, None, start), settings.warmup)) \
        if settings.warmup else (np.zeros(0), pa.array([], pa.timestamp("us")))
    cur_errors, cur_times = _stream(engine, streams.error_stream(labelled, every=every))
    errors = np.concatenate([warm_errors[::-1], cur_errors])
    times = pa.concat_arrays([warm_times[::-1], cur_times.cast(warm_times.type)]) if len(warm_times) else cur_times
    n_warm = warm_errors.size
    warm, cur = range(n_warm), range(errors.size - n_warm)
    metrics: dict[str, float | None] = {}
    results = []
    for name in settings.detectors:
        if len(cur) < settings.min_labelled:
            results.append(DriftResult("errors", name, "not_enough_data",
                                       f"{len(cur)} labelled predictions in the window; the {name} detector needs {settings.min_labelled}.",
                                       n_reference=len(warm), n_current=len(cur)))
            continue
        changes = error_stream_changes(errors, times, len(warm), DETECTORS[name]())
        metrics[f"concept.errors.{name}_changes"] = float(len(changes))
        if changes:
            first = changes[0]
            reading = (f"{name} found {len(changes)} change(s) in the error rate; the first at {first['time']:%Y-%m-%d %H:%M} "
                       f"(error rate {first['error_rate_before']:.1%} before, "
                       + (f"{first['error_rate_after']:.1%} after)." if first["error_rate_after"] is not None else "end of window)."))
        else:
            reading = (f"{name} found no change in the error rate of {len(cur)} labelled predictions "
                       f"(after {len(warm)} read before the window).")
        details: dict[str, Any] = {"change_points": changes}
        if every > 1:
            details["thinned_every"] = every  # positions count the kept predictions
        results.append(DriftResult("errors", name, "drift" if changes else "no_drift", reading, statistic=float(len(changes)),
                                   n_reference=len(warm), n_current=len(cur), details=details))
    return metrics, results


def window_concept(store: Store, model: ModelConfig, profile: ReferenceProfile | None, start: datetime,
                   end: datetime, *, engine: Engine | None = None) -> tuple[dict[str, float | None], list[DriftResult]]:
    """Concept-drift metrics and drift results of the window ``[start, end)`` (see the module notes).

    The window's labelled predictions are read on ``engine`` (default: the store's own tables);
    the reference's confusion matrix always comes from ``store``, which holds the state.
    """
    settings = model.diagnosis.concept
    if not settings.enabled:
        return {}, []
    engine = engine or store_engine(store)
    labelled = _labelled(engine, model, start, end)
    confusion = _window_confusion(engine, labelled)
    n = sum(confusion.values())
    metrics: dict[str, float | None] = {}
    results: list[DriftResult] = []
    if n < settings.min_labelled:
        results.append(DriftResult("concept", "accuracy", "not_enough_data",
                                   f"{n} labelled predictions in the window; concept drift needs {settings.min_labelled}.", n_current=n))
        return metrics, results
    baselines = profile.baselines if profile is not None else dict(model.reference.baselines if model.reference else {})
    ref = _reference_confusion(store, model) if profile is not None else {}
    declared = model.reference.baselines if model.reference else {}
    correct = sum(c for (p, t), c in confusion.items() if p == t)
    n_ref = sum(ref.values())
    acc: DropTest | None = None
    if "accuracy" in declared or (not n_ref and "accuracy" in baselines):
        acc = accuracy_drop(correct=correct, n=n, reference_accuracy=float(declared.get("accuracy", baselines.get("accuracy", 0.0))),
                            alpha=settings.alpha, min_drop=settings.min_drop)
    elif n_ref:
        acc = accuracy_drop(correct=correct, n=n, reference_correct=sum(c for (p, t), c in ref.items() if p == t), reference_n=n_ref,
                            alpha=settings.alpha, min_drop=settings.min_drop)
    positive = model.positive if model.task == "binary" else None
    f1_name = f"f1.{positive}" if positive else "f1_macro"
    f1: DropTest | None = None
    if f1_name in declared or (not n_ref and f1_name in baselines):
        f1 = f1_drop(confusion, reference_f1=float(declared.get(f1_name, baselines.get(f1_name, 0.0))), positive=positive,
                     alpha=settings.alpha, min_drop=settings.min_drop, draws=settings.bootstrap)
    elif n_ref:
        f1 = f1_drop(confusion, reference=ref, positive=positive, alpha=settings.alpha, min_drop=settings.min_drop,
                     draws=settings.bootstrap)
    for prefix, d in (("accuracy", acc), ("f1", f1)):
        if d is not None:
            metrics.update(_drop_metrics(prefix, d))
            results.append(_drop_result(d, settings))
    if acc is not None or f1 is not None:
        metrics["concept.dropped"] = 1.0 if any(d is not None and d.significant for d in (acc, f1)) else 0.0
    if profile is not None and profile.calibration:
        expected = _expected_accuracy(engine, model, profile.calibration, labelled)
        if expected is not None:
            value, lower, upper = expected
            realised = correct / n
            metrics.update({"concept.expected_accuracy": value, "concept.expected_accuracy_lower": lower,
                            "concept.expected_accuracy_upper": upper, "concept.accuracy_gap": realised - value})
            where = "below" if realised < lower else "above" if realised > upper else "inside"
            reading = (f"realised accuracy {realised:.3f} of {n} labelled predictions; if the reference's confidence calibration "
                       f"held it would be {value:.3f} (95% interval {lower:.3f}-{upper:.3f}): {where} the interval.")
            results.append(DriftResult("concept", "vs_estimate", "drift" if where == "below" else "no_drift", reading,
                                       statistic=realised, effect_size=realised - value, n_current=n,
                                       details={"expected": value, "lower": lower, "upper": upper, "position": where}))
    online_metrics, online_results = _online(engine, model, labelled, n, start, end)
    metrics.update(online_metrics)
    results.extend(online_results)
    return metrics, results
