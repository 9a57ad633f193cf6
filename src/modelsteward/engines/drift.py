"""Drift of one window on any engine: the Ibis summaries, then the statistics of :mod:`~modelsteward.drift.window_drift`.

A window's drift is a fixed number of queries whatever the number of subjects: the subjects of
a kind are numbered and stacked into one long ``(k, v)`` table
(:func:`~modelsteward.engines.aggregates.subject_values`), then

1. one query gives, per numeric subject and bin of its reference's quantile edges, the window's
   count, KS ``D`` and Wasserstein-1 against the stored reference ECDF (pooled cumulative
   counts, partitioned by subject) and the sum of the values
   (:func:`~modelsteward.engines.aggregates.numeric_drift_summary`);
2. one query gives the counts per category of every categorical subject, the label included
   (:func:`~modelsteward.engines.aggregates.category_counts`);
3. only when Anderson–Darling or Cramér–von Mises are configured, one query gives the pooled
   distinct values with both counts (:func:`~modelsteward.engines.aggregates.pooled_value_counts`).

The corrections and verdicts are the store path's own (``numeric_tested``,
``categorical_tested``, ``_finish`` and ``_inputs_verdict``), so the paths cannot drift apart
in their statistics.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["ReferenceECDF", "engine_window_drift"]

_BINNED = {"psi", "jensen_shannon", "hellinger"}
_RANKED = {"anderson_darling", "cramer_von_mises"}


class ReferenceECDF:
    """The stored reference ECDF of every numeric subject, as one long ``(k, v, n)`` table on an engine.

    ``k`` numbers the subjects in :func:`~modelsteward.reference.numeric_subjects` order. On the
    store's own engine (DuckDB or PostgreSQL) the stored table is read in place; on any other
    engine all subjects' distinct values and counts are read at once and uploaded once (one
    row per distinct reference value), then kept for every window of the pass.
    """

    def __init__(self, store: Store, model: ModelConfig, engine: Engine) -> None:
        self.store, self.model, self.engine = store, model, engine
        self.subjects = list(numeric_subjects(model))
        self._table: Any = None
        self._in_place = engine.state_store is store

    def table(self) -> Any:
        """``(k, v, n)``: each subject's distinct reference values and their counts."""
        if self._table is None:
            import ibis

            ecdf = ModelTables.reference_ecdf_table(self.model.name)
            if self._in_place:  # (the backend's .sql() needs an Arrow call DuckDB 2 no longer has)
                with _quiet():
                    t = self.engine.backend.table(ecdf.strip('"'))
                t = t.filter(t.subject.isin(self.subjects))
                prev = t.cum.lag().over(ibis.window(group_by="subject", order_by="v"))
                k = ibis.cases(*[(t.subject == s, i) for i, s in enumerate(self.subjects)])
                self._table = t.select(k=k.cast("int64"), v=t.v.cast("float64"), n=(t.cum - ibis.coalesce(prev, 0)).cast("int64"))
            else:
                data = self.store.query_arrow(
                    f"SELECT subject, v, cum - coalesce(lag(cum) OVER (PARTITION BY subject ORDER BY v), 0) AS n FROM {ecdf}")
                k = pc.index_in(data.column("subject"), value_set=pa.array(self.subjects, pa.string()))
                data = pa.table({"k": k.cast(pa.int64()), "v": data.column("v").cast(pa.float64()),
                                 "n": data.column("n").cast(pa.int64())}).filter(pc.is_valid(k))
                self._table = self.engine.upload(data)
        return self._table


def _explode(engine: Engine) -> bool:
    """Spark reads the window once and unnests its subjects; DuckDB and PostgreSQL read one column per subject."""
    return engine.kind == "spark"


class _NumericSummary:
    """The window's numeric summaries of every subject, from one query (and one more for the rank tests)."""

    def __init__(self, engine: Engine, ecdf: ReferenceECDF, values: Any, edges: dict[int, list[float]]) -> None:
        self.engine, self.ecdf, self.values = engine, ecdf, values
        self.edges = edges
        self.by_subject: dict[int, list[dict[str, Any]]] = {}
        for r in engine.rows(agg.numeric_drift_summary(ecdf.table(), values, edges)):
            self.by_subject.setdefault(int(r["k"]), []).append(r)
        self._grouped: dict[int, Grouped] | None = None

    def n(self, k: int) -> int:
        return int(max((r["nb"] or 0 for r in self.by_subject.get(k, [])), default=0))

    def stats(self, k: int) -> tuple[float, float, int, int, float]:
        """``(D, W1, n_ref, n_cur, mean)`` of subject ``k``."""
        rows = self.by_subject[k]
        n_cur = self.n(k)
        d = max((float(r["d"]) for r in rows if r["d"] is not None), default=0.0)
        w1 = math.fsum(float(r["w1"]) for r in rows if r["w1"] is not None)
        mean = math.fsum(float(r["s"]) for r in rows if r["s"] is not None) / n_cur
        return d, w1, int(max(r["na"] or 0 for r in rows)), n_cur, mean

    def bin_counts(self, k: int) -> list[int]:
        got = {int(r["bin"]): int(r["n"] or 0) for r in self.by_subject.get(k, [])}
        return [got.get(i, 0) for i in range(len(self.edges.get(k, [])) + 1)]

    def grouped(self, k: int) -> Grouped:
        """Pooled distinct values of subject ``k`` with the reference and window counts (every subject's in one query)."""
        if self._grouped is None:
            t = self.engine.arrow(agg.pooled_value_counts(self.ecdf.table(), self.values))
            ks = t.column("k").to_numpy()
            v, nr, nc = (t.column(c).to_numpy().astype(float) for c in ("v", "nr", "nc"))
            self._grouped = {}
            for subject in np.unique(ks):
                at = ks == subject
                order = np.argsort(v[at], kind="stable")  # the engine's order, made sure of
                self._grouped[int(subject)] = (v[at][order], nr[at][order], nc[at][order])
        empty = np.zeros(0)
        return self._grouped.get(k, (empty, empty, empty))


def _numeric_tested(engine: Engine, model: ModelConfig, profile: ReferenceProfile, rows: Any, ecdf: ReferenceECDF,
                    empty: bool) -> list[_Tested | DriftResult]:
    subjects = list(numeric_subjects(model).items())
    out: list[_Tested | DriftResult] = []
    present = {k: (s, c) for k, (s, c) in enumerate(subjects) if s in profile.numeric}
    summary = None
    if present and not empty:
        binned = bool(_BINNED & set(model.drift.numeric_tests))
        edges = {k: list(profile.numeric[s]["edges"]) for k, (s, _) in present.items()} if binned else {}
        values = agg.subject_values([(k, rows, c) for k, (_, c) in present.items()], "float64", explode=_explode(engine))
        summary = _NumericSummary(engine, ecdf, values, edges)
    for k, (subject, _) in enumerate(subjects):
        ref = profile.numeric.get(subject)
        if ref is None:
            out.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        n_cur = summary.n(k) if summary is not None else 0
        if summary is None or n_cur < model.drift.min_samples:
            out.append(not_enough(model, subject, ref["n"], n_cur))
            continue
        d, w1, n_ref, n_cur, mean = summary.stats(k)
        out.append(numeric_tested(model, subject, ref, d=d, w1=w1, n_ref=n_ref, n_cur=n_cur, mean_now=mean,
                                  bin_counts=partial(summary.bin_counts, k), grouped=partial(summary.grouped, k)))
    return out


def _categorical_tested(engine: Engine, model: ModelConfig, profile: ReferenceProfile, rows: Any, labelled: Any,
                        empty: bool) -> list[_Tested | DriftResult]:
    subjects = list(categorical_subjects(model).items())
    columns = [(k, labelled, "v") if s == "label" else (k, rows, c) for k, (s, c) in enumerate(subjects)
               if profile.categorical.get(s) and (s != "label" or labelled is not None)]
    got: dict[int, dict[str, int]] = {}
    if columns and not empty:
        for r in engine.rows(agg.category_counts(agg.subject_values(columns, "string", explode=_explode(engine)))):
            got.setdefault(int(r["k"]), {})[str(r["value"])] = int(r["n"])
    out: list[_Tested | DriftResult] = []
    for k, (subject, _) in enumerate(subjects):
        ref_counts = profile.categorical.get(subject)
        if not ref_counts:
            out.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        out.append(categorical_tested(model, subject, ref_counts, got.get(k, {})))
    return out


def engine_window_drift(engine: Engine, store: Store, model: ModelConfig, profile: ReferenceProfile,
                        start: datetime, end: datetime, *, ecdf: ReferenceECDF | None = None,
                        empty: bool = False) -> list[DriftResult]:
    """Every drift test of the window ``[start, end)`` on ``engine`` against the profile stored in ``store``.

    The same results as :func:`~modelsteward.drift.window_drift.window_drift` on the same rows,
    in two queries (three with Anderson–Darling or Cramér–von Mises) whatever the number of
    subjects. Pass one ``ecdf`` for every window of a pass so the reference is uploaded once;
    ``empty`` says the window is known to hold no prediction (every subject is then "not enough
    data" without a query).
    """
    if ecdf is None or ecdf.subjects != list(numeric_subjects(model)):  # numbered as this model's subjects
        ecdf = ReferenceECDF(store, model, engine)
    events = engine.events(model)
    rows = agg._prune(events, start, end)
    feedback = engine.feedback(model)
    labelled = None
    if feedback is not None:
        labels = agg.resolved_labels(events, feedback, model)
        labelled = rows.select("prediction_id").join(labels, "prediction_id").select(v=lambda t: t.label)
    tested: list[_Tested] = []
    early: list[DriftResult] = []
    for result in (_numeric_tested(engine, model, profile, rows, ecdf, empty)
                   + _categorical_tested(engine, model, profile, rows, labelled, empty)):
        (tested.append(result) if isinstance(result, _Tested) else early.append(result))
    results = early + _finish(tested, model)
    window = _inputs_verdict(results, model)
    return results if window is None else [*results, window]
