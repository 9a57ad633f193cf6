"""Multivariate and text drift inside the monitoring run (both opt-in in ``steward.yaml``).

* **Multivariate** (``diagnosis.multivariate.enabled``): a seeded reservoir sample of at most
  ``sample_rows`` rows of the reference and of the window (drawn by DuckDB, so memory does not
  grow with the window), then :func:`~modelsteward.drift.multivariate.domain_classifier`
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
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

__all__ = ["JointDrift"]

_TEXT_SQL = "json_extract_string(attributes, '$.\"' || ? || '\"')"  # the key is validated by the config and passed as a parameter


_MIN_REFERENCE_TEXTS = 40  # half fit the profile, and text_drift needs 10 held-out texts at least


def _status(drift: bool, significant: bool) -> str:
    return "drift" if drift else "small_change" if significant else "no_drift"


class JointDrift:
    """Multivariate and text drift of windows of one model against its reference (one monitoring pass)."""

    def __init__(self, store: DuckDBStore, model: ModelConfig) -> None:
        self.store = store
        self.model = model
        self._kinds = {f.name: f.type for f in model.features}
        self._reference_rows: dict[str, np.ndarray] | None = None
        self._texts: dict[str, tuple[Any, list[str]] | None] = {}

    # -- samples ----------------------------------------------------------------------------
    def _rows(self, sql: str, params: list[Any]) -> dict[str, np.ndarray]:
        rows = self.store.query(sql, params)
        return {name: np.array([r[i] for r in rows], dtype=float if kind == "numeric" else object)
                for i, (name, kind) in enumerate(self._kinds.items())}

    def _sample_sql(self, inner: str) -> str:
        s = self.model.diagnosis.multivariate
        return f"SELECT * FROM ({inner}) AS rows_in USING SAMPLE reservoir({int(s.sample_rows)} ROWS) REPEATABLE ({int(s.seed)})"

    def _columns(self) -> str:
        return ", ".join(quote_ident(feature_column(f)) for f in self._kinds)

    def reference_sample(self) -> dict[str, np.ndarray]:
        if self._reference_rows is None:
            table = DuckDBStore.reference_table(self.model.name)
            self._reference_rows = self._rows(self._sample_sql(f"SELECT {self._columns()} FROM {table}"), [])
        return self._reference_rows

    def window_sample(self, start: datetime, end: datetime) -> dict[str, np.ndarray]:
        table = DuckDBStore.predictions_table(self.model.name)
        return self._rows(self._sample_sql(f"SELECT {self._columns()} FROM {table} WHERE ts >= ? AND ts < ?"), [start, end])

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
    def _reference_texts(self, key: str) -> list[str]:
        s = self.model.diagnosis.text
        ref = self.model.reference
        if ref is None:
            return []
        limit = 2 * int(s.sample_texts)  # half fits the profile, half is compared with the windows
        if ref.file:
            path = Path(ref.file)
            reader = "read_parquet(?)" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto(?)"
            column = ref.columns.get(key, key)
            available = {r[0] for r in self.store.query(f"DESCRIBE SELECT * FROM {reader}", [str(path)])}
            if column not in available:
                return []
            col = '"' + column.replace('"', '""') + '"'
            rows = self.store.query(
                f"SELECT * FROM (SELECT CAST({col} AS VARCHAR) AS t FROM {reader} WHERE {col} IS NOT NULL) AS rows_in "
                f"USING SAMPLE reservoir({limit} ROWS) REPEATABLE ({int(s.seed)})", [str(path)])
        else:
            table = DuckDBStore.predictions_table(self.model.name)
            rows = self.store.query(
                f"SELECT * FROM (SELECT {_TEXT_SQL} AS t FROM {table} WHERE ts >= ? AND ts < ? AND {_TEXT_SQL} IS NOT NULL) AS rows_in "
                f"USING SAMPLE reservoir({limit} ROWS) REPEATABLE ({int(s.seed)})", [key, ref.start, ref.end, key])
        return sorted(str(r[0]) for r in rows)  # sorted: the sample's order must not depend on the engine's

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

        table = DuckDBStore.predictions_table(self.model.name)
        for key in s.attributes:
            subject = f"text.{key}"
            built = self._profile(key)
            if built is None:
                results.append(DriftResult(subject, "text_drift", "no_reference",
                                           f"no reference texts for attribute {key!r} (or too few to build a representation); "
                                           "give the reference file a column of that name, or map one in reference.columns"))
                continue
            profile, ref_texts = built
            rows = self.store.query(
                f"SELECT * FROM (SELECT {_TEXT_SQL} AS t FROM {table} WHERE ts >= ? AND ts < ? AND {_TEXT_SQL} IS NOT NULL) AS rows_in "
                f"USING SAMPLE reservoir({int(s.sample_texts)} ROWS) REPEATABLE ({int(s.seed)})", [key, start, end, key])
            current = sorted(str(r[0]) for r in rows)
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
