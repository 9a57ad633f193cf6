"""Drift of one window on any engine: the Ibis summaries, then the statistics of :mod:`~modelsteward.drift.window_drift`.

Per numeric subject the engine returns the window's count and mean, KS ``D`` and the
Wasserstein-1 distance against the stored reference ECDF (pooled cumulative counts,
:func:`~modelsteward.engines.aggregates.ks_wasserstein`), counts on the reference's quantile
bins, and, only when Anderson–Darling or Cramér–von Mises are configured, one row per distinct
value. Per categorical subject it returns the counts per category. The corrections and
verdicts are the store path's own (``_finish`` and ``_inputs_verdict``), so the two paths
cannot drift apart in their statistics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.drift.window_drift import (
    DriftResult,
    Grouped,
    _finish,
    _inputs_verdict,
    _Tested,
    categorical_tested,
    not_enough,
    numeric_tested,
)
from modelsteward.engines import aggregates as agg
from modelsteward.engines.connect import Engine, _quiet
from modelsteward.reference import ReferenceProfile, categorical_subjects, numeric_subjects
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["ReferenceECDF", "engine_window_drift"]


class ReferenceECDF:
    """The stored reference ECDF of each numeric subject, as ``(v, n)`` tables on an engine.

    On the store's own DuckDB engine the stored table is read in place; on any other engine
    each subject's distinct values and counts are uploaded once (one row per distinct
    reference value) and kept for every window of the pass.
    """

    def __init__(self, store: DuckDBStore, model: ModelConfig, engine: Engine) -> None:
        self.store, self.model, self.engine = store, model, engine
        self._tables: dict[str, Any] = {}
        self._in_place = engine.state_store is store

    def table(self, subject: str) -> Any:
        if subject not in self._tables:
            ecdf = type(self.store).reference_ecdf_table(self.model.name)
            sql = f"SELECT v, cum - coalesce(lag(cum) OVER (ORDER BY v), 0) AS n FROM {ecdf} WHERE subject = ? ORDER BY v"
            if self._in_place:  # (the backend's .sql() needs an Arrow call DuckDB 2 no longer has)
                import ibis

                with _quiet():
                    t = self.engine.backend.table(ecdf.strip('"'))
                t = t.filter(t.subject == subject)
                prev = t.cum.lag().over(ibis.window(order_by="v"))
                self._tables[subject] = t.select("v", n=t.cum - ibis.coalesce(prev, 0))
            else:
                data = self.store.query_arrow(sql, [subject])
                self._tables[subject] = self.engine.upload(data.cast(pa.schema([("v", pa.float64()), ("n", pa.int64())])))
        return self._tables[subject]


def _numeric(engine: Engine, model: ModelConfig, subject: str, values: Any, ref: dict[str, Any],
             ecdf: ReferenceECDF) -> _Tested | DriftResult:
    summary: dict[str, Any] = engine.rows(agg.subject_summary(values))[0] if values is not None else {"n": 0, "mean": None}
    n_cur = int(summary["n"] or 0)
    if n_cur < model.drift.min_samples:
        return not_enough(model, subject, ref["n"], n_cur)
    ks = engine.rows(agg.ks_wasserstein(ecdf.table(subject), values))[0]

    def bin_counts() -> list[int]:
        got = {int(r["bin"]): int(r["n"]) for r in engine.rows(agg.numeric_bin_counts(values, ref["edges"]))}
        return [got.get(i, 0) for i in range(len(ref["edges"]) + 1)]

    def grouped() -> Grouped:
        ref_t = engine.arrow(ecdf.table(subject)).to_pandas()
        cur_t = engine.arrow(agg.distinct_value_counts(values)).to_pandas()
        both = ref_t.merge(cur_t, on="v", how="outer", suffixes=("_r", "_c")).fillna(0).sort_values("v")
        return both["v"].to_numpy(float), both["n_r"].to_numpy(float), both["n_c"].to_numpy(float)

    return numeric_tested(model, subject, ref, d=float(ks["d"] or 0.0), w1=float(ks["w1"] or 0.0), n_ref=int(ks["na"] or 0),
                          n_cur=int(ks["nb"] or 0), mean_now=float(summary["mean"]), bin_counts=bin_counts, grouped=grouped)


def _categorical(engine: Engine, model: ModelConfig, subject: str, values: Any, ref_counts_map: dict[str, int]) -> _Tested | DriftResult:
    got = {str(r["value"]): int(r["n"]) for r in engine.rows(agg.category_counts(values))} if values is not None else {}
    return categorical_tested(model, subject, ref_counts_map, got)


def engine_window_drift(engine: Engine, store: DuckDBStore, model: ModelConfig, profile: ReferenceProfile,
                        start: datetime, end: datetime, *, ecdf: ReferenceECDF | None = None,
                        empty: bool = False) -> list[DriftResult]:
    """Every drift test of the window ``[start, end)`` on ``engine`` against the profile stored in ``store``.

    The same results as :func:`~modelsteward.drift.window_drift.window_drift` on the same rows.
    Pass one ``ecdf`` for every window of a pass so the reference is uploaded once; ``empty``
    says the window is known to hold no prediction (every subject is then "not enough data"
    without a query).
    """
    ecdf = ecdf or ReferenceECDF(store, model, engine)
    events = engine.events(model)
    rows = agg._prune(events, start, end)
    feedback = engine.feedback(model)
    labelled = None
    if feedback is not None:
        labels = agg.resolved_labels(events, feedback, model)
        labelled = rows.select("prediction_id").join(labels, "prediction_id").select(v=lambda t: t.label)
    tested: list[_Tested] = []
    early: list[DriftResult] = []
    for subject, column in numeric_subjects(model).items():
        ref = profile.numeric.get(subject)
        if ref is None:
            early.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        result = _numeric(engine, model, subject, None if empty else rows.select(v=rows[column].cast("float64")), ref, ecdf)
        (tested.append(result) if isinstance(result, _Tested) else early.append(result))
    for subject, column in categorical_subjects(model).items():
        ref_counts = profile.categorical.get(subject)
        if not ref_counts:
            early.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        values = None if empty else labelled if subject == "label" else rows.select(v=rows[column])
        result = _categorical(engine, model, subject, values, ref_counts)
        (tested.append(result) if isinstance(result, _Tested) else early.append(result))
    results = early + _finish(tested, model)
    window = _inputs_verdict(results, model)
    return results if window is None else [*results, window]
