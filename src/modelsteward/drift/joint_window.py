"""Multivariate and text drift inside the monitoring run (both opt-in in ``steward.yaml``).

* **Multivariate** (``diagnosis.multivariate.enabled``): a seeded sample of at most
  ``sample_rows`` rows of the reference and of the window (drawn inside the engine, so memory
  does not grow with the window), then :func:`~modelsteward.drift.multivariate.domain_classifier`
  (cross-validated AUC, the features that separate the samples ranked) and
  :func:`~modelsteward.drift.multivariate.pca_reconstruction`. Stored as drift results of
  subject ``multivariate`` (tests ``domain_classifier`` and ``pca_reconstruction``) and as
  ``drift.multivariate.*`` metrics.
* **Text** (``diagnosis.text.attributes``): for each named attribute, a
  :class:`~modelsteward.drift.text.TextProfile` built from a seeded sample of the reference's
  texts (a file reference's column of that name, or the attribute over a reference period),
  then :func:`~modelsteward.drift.text.text_drift` on a sample of the window's texts. Stored as
  subject ``text.<attribute>`` (test ``text_drift``) and ``drift.text.<attribute>.*`` metrics.

:class:`JointDrift` keeps the reference samples and text profiles for the length of one
monitoring pass, so a pass over many windows builds them once. They are not stored between
passes (rebuilding is seeded, so the results do not change, and costs about a second).

Every sample is a bottom-k sample by hash (:mod:`modelsteward.engines.samples`): the window's
rows ranked by ``md5(seed:prediction_id)``, the reference's (which have no id) by their content
and copy number. The same seed therefore takes the same rows on the DuckDB store, the
PostgreSQL store, and, with ``engine=``, the Parquet log read by DuckDB or Spark, so the same
data gives the same multivariate and text results on each. The reference stays on the store;
the windows (and a period reference's texts) are read where ``engine`` reads the events.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from modelsteward.config import ModelConfig
from modelsteward.drift.window_drift import DriftResult
from modelsteward.errors import InsufficientDataError
from modelsteward.records import feature_column
from modelsteward.store.base import Store
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["JointDrift"]


_MIN_REFERENCE_TEXTS = 40  # half fit the profile, and text_drift needs 10 held-out texts at least


def _status(drift: bool, significant: bool) -> str:
    return "drift" if drift else "small_change" if significant else "no_drift"


class JointDrift:
    """Multivariate and text drift of windows of one model against its reference (one monitoring pass)."""

    def __init__(self, store: Store, model: ModelConfig, *, engine: Any = None) -> None:
        """``engine`` (an :class:`~modelsteward.engines.connect.Engine`) reads the windows' events; default the store's own."""
        self.store = store
        self.model = model
        self._kinds = {f.name: f.type for f in model.features}
        self._reference_rows: dict[str, np.ndarray] | None = None
        self._texts: dict[str, tuple[Any, list[str]] | None] = {}
        self._engine = engine

    # -- samples ----------------------------------------------------------------------------
    def _store_engine(self) -> Any:
        from modelsteward.engines.connect import store_engine

        return store_engine(self.store)

    def _events_engine(self) -> Any:
        return self._engine if self._engine is not None else self._store_engine()

    def _window_events(self, start: datetime, end: datetime) -> tuple[Any, Any]:
        from modelsteward.engines.aggregates import _prune

        engine = self._events_engine()
        return engine, _prune(engine.events(self.model), start, end)

    def _arrays(self, table: Any) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, kind in self._kinds.items():
            values = table.column(feature_column(name)).to_pylist()
            out[name] = np.array([np.nan if v is None else v for v in values] if kind == "numeric" else values,
                                 dtype=float if kind == "numeric" else object)
        return out

    def _columns(self) -> list[str]:
        return [feature_column(f) for f in self._kinds]

    def reference_sample(self) -> dict[str, np.ndarray]:
        """A seeded sample of at most ``sample_rows`` rows of the stored reference (kept for the pass)."""
        if self._reference_rows is None:
            from modelsteward.engines.samples import sample_arrow

            s = self.model.diagnosis.multivariate
            engine = self._store_engine()
            table = engine.backend.table(DuckDBStore.reference_table(self.model.name).strip('"'))
            self._reference_rows = self._arrays(sample_arrow(engine, table, s.sample_rows, seed=s.seed, key=None,
                                                             columns=self._columns()))
        return self._reference_rows

    def window_sample(self, start: datetime, end: datetime) -> dict[str, np.ndarray]:
        """A seeded sample of at most ``sample_rows`` predictions of ``[start, end)``, ranked by ``md5(seed:prediction_id)``."""
        from modelsteward.engines.samples import sample_arrow

        s = self.model.diagnosis.multivariate
        engine, rows = self._window_events(start, end)
        return self._arrays(sample_arrow(engine, rows, s.sample_rows, seed=s.seed, columns=self._columns()))

    # -- multivariate -----------------------------------------------------------------------
    def multivariate(self, start: datetime, end: datetime) -> tuple[dict[str, float | None], list[DriftResult]]:
        s = self.model.diagnosis.multivariate
        if not s.enabled or not self._kinds:
            return {}, []
        from modelsteward.drift.multivariate import ReconstructionResult, domain_classifier, pca_reconstruction

        ref, cur = self.reference_sample(), self.window_sample(start, end)
        n_ref, n_cur = len(next(iter(ref.values()))), len(next(iter(cur.values())))
        try:
            dc = domain_classifier(ref, cur, kinds=self._kinds, seed=s.seed, max_rows=s.sample_rows, min_auc=s.min_auc)
        except InsufficientDataError as exc:
            return {}, [DriftResult("multivariate", "domain_classifier", "not_enough_data", exc.message,
                                    n_reference=n_ref, n_current=n_cur)]
        try:
            pca: ReconstructionResult | None = pca_reconstruction(ref, cur, kinds=self._kinds, seed=s.seed, max_rows=s.sample_rows)
        except InsufficientDataError as exc:  # e.g. the reference lies exactly in its principal subspace
            pca, pca_reason = None, exc.message
        top = ", ".join(f.feature for f in dc.features[:3])
        dc_reading = (f"A classifier {'tells' if dc.drift else 'cannot reliably tell'} the window's inputs from the reference's "
                      f"(cross-validated AUC {dc.auc:.3f}, 95% CI {dc.ci_low:.3f}-{dc.ci_high:.3f}; 0.5 = indistinguishable, "
                      f"drift from {dc.min_auc:.2f}); most separating: {top}.")
        results = [
            DriftResult("multivariate", "domain_classifier", _status(dc.drift, dc.ci_low > 0.5), dc_reading, statistic=dc.auc,
                        p_value=dc.p_value, effect_size=dc.auc - 0.5, n_reference=dc.n_reference, n_current=dc.n_current,
                        details=dc.to_dict()),
        ]
        if pca is None:
            results.append(DriftResult("multivariate", "pca_reconstruction", "not_enough_data", pca_reason,
                                       n_reference=n_ref, n_current=n_cur))
        else:
            pca_reading = (f"Rows are reconstructed from the reference's {pca.components} principal components with "
                           f"{pca.ratio:.2f} times the reference's error (95% CI {pca.ratio_ci_low:.2f}-{pca.ratio_ci_high:.2f}, "
                           f"p = {pca.p_value:.2g}): "
                           + ("the way the inputs vary together changed." if pca.drift else "no change in how the inputs vary together."))
            results.append(DriftResult("multivariate", "pca_reconstruction", _status(pca.drift, pca.p_value < 0.05), pca_reading,
                                       statistic=pca.ratio, p_value=pca.p_value, effect_size=pca.ratio - 1.0,
                                       n_reference=pca.n_reference_holdout, n_current=pca.n_current, details=pca.to_dict()))
        metrics: dict[str, float | None] = {
            "drift.multivariate.domain_auc": dc.auc, "drift.multivariate.domain_auc_lower": dc.ci_low,
            "drift.multivariate.domain_auc_p_value": dc.p_value,
            "drift.multivariate.pca_error_ratio": pca.ratio if pca else None,
            "drift.multivariate.pca_p_value": pca.p_value if pca else None,
            "drift.multivariate.drifted": 1.0 if dc.drift or (pca is not None and pca.drift) else 0.0,
        }
        return metrics, results

    # -- text -------------------------------------------------------------------------------
    def _event_texts(self, key: str, start: datetime, end: datetime, limit: int) -> list[str]:
        """A seeded sample of at most ``limit`` non-missing values of attribute ``key`` in ``[start, end)``, sorted."""
        from modelsteward.engines.samples import json_text, sample_arrow

        engine, rows = self._window_events(start, end)
        texts = rows.select("prediction_id", t=json_text(engine.kind, rows.attributes, key))
        texts = texts.filter(texts.t.notnull())
        got = sample_arrow(engine, texts, limit, seed=self.model.diagnosis.text.seed, columns=["t"])
        return sorted(str(v) for v in got.column("t").to_pylist())  # sorted: the sample's order must not depend on the engine's

    def _reference_texts(self, key: str) -> list[str]:
        s = self.model.diagnosis.text
        ref = self.model.reference
        if ref is None:
            return []
        limit = 2 * int(s.sample_texts)  # half fits the profile, half is compared with the windows
        if not ref.file:
            assert ref.start is not None and ref.end is not None  # a reference is a file or a period (config)
            return self._event_texts(key, ref.start, ref.end, limit)
        import ibis

        from modelsteward.engines.connect import Engine
        from modelsteward.engines.samples import sample_arrow

        path = Path(ref.file)
        column = ref.columns.get(key, key)
        con = ibis.duckdb.connect()  # a reference file is read by DuckDB whatever the store (as the store reads it)
        try:
            data = con.read_parquet(str(path)) if path.suffix.lower() in (".parquet", ".pq") else con.read_csv(str(path))
            if column not in data.columns:
                return []
            texts = data.select(t=data[column].cast("string"))
            texts = texts.filter(texts.t.notnull())
            got = sample_arrow(Engine("duckdb", con), texts, limit, seed=s.seed, key=None, columns=["t"])
        finally:
            con.disconnect()
        return sorted(str(v) for v in got.column("t").to_pylist())

    def _profile(self, key: str) -> tuple[Any, list[str]] | None:
        if key not in self._texts:
            from modelsteward.drift.text import TextProfile

            s = self.model.diagnosis.text
            texts = self._reference_texts(key)
            self._texts[key] = None
            if len(texts) >= _MIN_REFERENCE_TEXTS:
                try:
                    profile = TextProfile.build(texts, vocab_size=s.vocab_size, dims=min(s.dims, max(2, len(texts) // 4)), seed=s.seed)
                    self._texts[key] = (profile, texts)
                except (InsufficientDataError, ValueError):
                    self._texts[key] = None  # too few distinct terms to build a representation
        return self._texts[key]

    def text(self, start: datetime, end: datetime) -> tuple[dict[str, float | None], list[DriftResult]]:
        s = self.model.diagnosis.text
        metrics: dict[str, float | None] = {}
        results: list[DriftResult] = []
        if not s.attributes:
            return metrics, results
        from modelsteward.drift.text import text_drift

        for key in s.attributes:
            subject = f"text.{key}"
            built = self._profile(key)
            if built is None:
                results.append(DriftResult(subject, "text_drift", "no_reference",
                                           f"no reference texts for attribute {key!r} (or too few to build a representation); "
                                           "give the reference file a column of that name, or map one in reference.columns"))
                continue
            profile, ref_texts = built
            current = self._event_texts(key, start, end, int(s.sample_texts))
            try:
                res = text_drift(profile, ref_texts, current, seed=s.seed, max_docs=s.sample_texts, min_auc=s.min_auc)
            except InsufficientDataError as exc:
                results.append(DriftResult(subject, "text_drift", "not_enough_data", exc.message, n_current=len(current)))
                continue
            results.append(DriftResult(subject, "text_drift", res.verdict, res.reading, statistic=res.auc, p_value=res.p_value,
                                       effect_size=res.auc - 0.5, n_reference=res.n_reference, n_current=res.n_current,
                                       details=res.to_dict()))
            base = f"drift.text.{key}"
            metrics.update({f"{base}.auc": res.auc, f"{base}.auc_lower": res.ci_low, f"{base}.auc_p_value": res.p_value,
                            f"{base}.mean_shift": res.mean_shift, f"{base}.oov_share": res.current_quality.oov_share,
                            f"{base}.drifted": 1.0 if res.drift else 0.0})
        return metrics, results
