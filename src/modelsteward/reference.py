"""The reference: what normal looks like, loaded and summarised once.

A reference is either a file of training data (CSV or Parquet) or a period of logged
predictions. Its rows are copied once into the store (``reference__<model>``, the same typed
columns as the prediction table, so exact two-sample tests can run inside the engine) and
summarised into a profile: per numeric subject (features and confidence) the range, mean,
standard deviation and quantile bin edges with counts; per categorical subject the category
counts; the prediction and label mix; and metric baselines. Windows are compared with this
stored profile, never with a recomputation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.errors import ConfigError, NotFoundError
from modelsteward.records import feature_column
from modelsteward.store.base import Store
from modelsteward.store.identifiers import quote_ident, quote_source_column
from modelsteward.store.model_tables import ModelTables

__all__ = ["ReferenceProfile", "build_reference", "load_profile", "numeric_subjects", "categorical_subjects"]


@dataclass(frozen=True)
class ReferenceProfile:
    """The stored summary of a model's reference data."""

    model: str
    source: dict[str, Any]
    n_rows: int
    numeric: dict[str, dict[str, Any]] = field(default_factory=dict)
    categorical: dict[str, dict[str, int]] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None  # confidence calibrators for performance estimation
    novelty: dict[str, Any] | None = None  # the novelty scorer's state, when the model asks for novelty

    def to_json(self) -> str:
        return json.dumps({"numeric": self.numeric, "categorical": self.categorical, "baselines": self.baselines,
                           "calibration": self.calibration, "novelty": self.novelty})


def numeric_subjects(model: ModelConfig) -> dict[str, str]:
    """Numeric subjects of drift tests and their store columns (features, then confidence)."""
    out = {f.name: feature_column(f.name) for f in model.features if f.type == "numeric"}
    out["confidence"] = "confidence"
    return out


def categorical_subjects(model: ModelConfig) -> dict[str, str]:
    """Categorical subjects: features, then the predicted class and the ground-truth label."""
    out = {f.name: feature_column(f.name) for f in model.features if f.type == "categorical"}
    out["prediction"] = "prediction"
    out["label"] = "label"
    return out


def _reference_columns(model: ModelConfig) -> list[tuple[str, str]]:
    cols = [(feature_column(f.name), "DOUBLE" if f.type == "numeric" else "VARCHAR") for f in model.features]
    return cols + [("confidence", "DOUBLE"), ("prediction", "VARCHAR"), ("label", "VARCHAR")]


def _file_select(model: ModelConfig, path: str, available: set[str]) -> str:
    ref = model.reference
    assert ref is not None
    missing = {logical: source for logical, source in ref.columns.items() if source not in available}
    if missing:
        logical, source = next(iter(missing.items()))
        raise ConfigError(f"column {source!r} (mapped from {logical!r}) is not in the reference file {path}",
                          path=f"reference.columns.{logical}", hint=f"the file's columns are: {', '.join(sorted(available))}")
    parts = []
    for name, sql_type in _reference_columns(model):
        logical = name.removeprefix("f_") if name.startswith("f_") else name
        source = ref.columns.get(logical, logical)
        if source in available:
            value = f"TRY_CAST({quote_source_column(source)} AS {sql_type})"
            if sql_type == "DOUBLE":  # a NaN (or infinity) in the file is a missing value, as in logged predictions
                value = f"CASE WHEN isfinite({value}) THEN {value} END"
            parts.append(f"{value} AS {quote_ident(name)}")
        else:
            parts.append(f"CAST(NULL AS {sql_type}) AS {quote_ident(name)}")
    return ", ".join(parts)


def build_reference(store: Store, model: ModelConfig) -> ReferenceProfile:
    """Copy the configured reference into the store and compute its profile."""
    ref = model.reference
    if ref is None:
        raise ConfigError("no reference configured", path=f"models[{model.name}].reference",
                          hint="add `reference: {file: training.parquet}` or a `start`/`end` period")
    table = ModelTables.reference_table(model.name)
    cols_sql = ", ".join(f"{quote_ident(n)} {t}" for n, t in _reference_columns(model))
    if ref.file:
        path = Path(ref.file)
        if not path.exists():
            raise ConfigError(f"reference file not found: {path}", path="reference.file")
        reader = "read_parquet(?)" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto(?)"
        available = {r[0] for r in store.query(f"DESCRIBE SELECT * FROM {reader}", [str(path)])}
        select = f"SELECT {_file_select(model, str(path), available)} FROM {reader}"
        params: list[Any] = [str(path)]
        source: dict[str, Any] = {"file": str(path)}
    else:
        from modelsteward.feedback.labels import resolved_labels_sql

        labels_sql, label_params = resolved_labels_sql(model)
        feats = ", ".join(f"p.{quote_ident(feature_column(f.name))}" for f in model.features)
        select = (
            f"SELECT {feats + ', ' if feats else ''}p.confidence, p.prediction, l.label "
            f"FROM {ModelTables.predictions_table(model.name)} p LEFT JOIN ({labels_sql}) l USING (prediction_id) "
            "WHERE p.ts >= ? AND p.ts < ?"
        )
        params = [*label_params, ref.start, ref.end]
        source = {"start": ref.start.isoformat(), "end": ref.end.isoformat()}  # type: ignore[union-attr]
    with store.transaction() as con:
        con.execute(f"CREATE OR REPLACE TABLE {table} ({cols_sql})").fetchall()
        con.execute(f"INSERT INTO {table} {select}", params).fetchall()
    n_rows = int(store.query(f"SELECT count(*) FROM {table}")[0][0])
    if n_rows == 0:
        raise ConfigError("the reference has no rows", path="reference", hint="check the file or the period")
    profile = _profile(store, model, table, n_rows, source)
    _build_ecdf(store, model, table)
    from modelsteward.performance.window import fit_calibration

    profile = replace(profile, calibration=fit_calibration(store, model, table),
                      novelty=_fit_novelty(store, model, table) if model.novelty else None)
    if ref.start is not None:
        # Per-window figures (volume, latency, error rate, ...) from the period's windows; where
        # the rows give a baseline directly (means, shares, accuracy), the pooled rows win.
        for key, value in _period_baselines(store, model).items():
            profile.baselines.setdefault(key, value)
    profile.baselines.update(ref.baselines)
    with store.transaction() as con:
        con.execute("DELETE FROM reference_profiles WHERE model = ?", [model.name]).fetchall()
        con.execute("INSERT INTO reference_profiles VALUES (?, ?, ?, ?, ?)",
                    [model.name, json.dumps(source), n_rows, profile.to_json(), datetime.now(UTC).replace(tzinfo=None)]).fetchall()
    return profile


NOVELTY_ROWS = 10_000


def _fit_novelty(store: Store, model: ModelConfig, table: str, *, seed: int = 0) -> dict[str, Any] | None:
    """Fit the novelty scorer on a seeded sample of the reference's features (None without features)."""
    if not model.features:
        return None
    import numpy as np

    from modelsteward.drift.novelty import NoveltyScorer
    from modelsteward.engines.connect import store_engine
    from modelsteward.engines.samples import sample_arrow

    # A bottom-k sample by hash of the rows' content: the same rows on a DuckDB and a PostgreSQL store.
    engine = store_engine(store)
    cols = [feature_column(f.name) for f in model.features]
    got = sample_arrow(engine, engine.backend.table(table.strip('"')), NOVELTY_ROWS, seed=seed, key=None, columns=cols)
    if got.num_rows < 100:
        return None
    data = {f.name: np.array([np.nan if v is None else v for v in got.column(c).to_pylist()] if f.type == "numeric"
                             else got.column(c).to_pylist(), dtype=float if f.type == "numeric" else object)
            for f, c in zip(model.features, cols, strict=True)}
    return NoveltyScorer.fit(data, kinds={f.name: f.type for f in model.features}, seed=seed).to_dict()


def _build_ecdf(store: Store, model: ModelConfig, table: str) -> None:
    """Sorted distinct values with cumulative counts, per numeric subject, stored once.

    Every window's two-sample KS statistic evaluates the reference ECDF at the window's values
    (and the window's at the reference's); keeping it sorted and aggregated saves sorting the
    whole reference again for every window and feature.
    """
    ecdf = ModelTables.reference_ecdf_table(model.name)
    with store.transaction() as con:
        con.execute(f"CREATE OR REPLACE TABLE {ecdf} (subject VARCHAR, v DOUBLE, cum BIGINT)").fetchall()
        # One subject at a time: the engine holds one column's distinct values, not all of them.
        for subject, column in numeric_subjects(model).items():
            c = quote_ident(column)
            con.execute(
                f"INSERT INTO {ecdf} SELECT ?, v, sum(n) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) "
                f"FROM (SELECT {c} AS v, count(*) AS n FROM {table} WHERE {c} IS NOT NULL GROUP BY 1) ORDER BY v",
                [subject],
            ).fetchall()


def _profile(store: Store, model: ModelConfig, table: str, n_rows: int, source: dict[str, Any]) -> ReferenceProfile:
    bins = model.drift.bins
    qs = [i / bins for i in range(1, bins)]
    numeric: dict[str, dict[str, Any]] = {}
    baselines: dict[str, float] = {}
    for subject, column in numeric_subjects(model).items():
        c = quote_ident(column)
        n, lo, hi, mean, std, edges = store.query(
            f"SELECT count({c}), min({c}), max({c}), avg({c}), stddev_samp({c}), quantile_cont({c}, ?) FROM {table}", [qs]
        )[0]
        if not n:
            continue
        inner = sorted(set(float(e) for e in edges)) if edges else []
        counts = _bin_counts(store, table, c, inner)
        numeric[subject] = {"n": int(n), "min": lo, "max": hi, "mean": mean, "std": std, "edges": inner, "counts": counts}
        key = "mean_confidence" if subject == "confidence" else f"feature.{subject}.mean"
        baselines[key] = float(mean)
    if "confidence" in numeric:
        baselines["low_confidence_rate"] = float(store.query(
            f"SELECT avg(CASE WHEN confidence < ? THEN 1.0 ELSE 0.0 END) FROM {table} WHERE confidence IS NOT NULL",
            [model.low_confidence_threshold])[0][0])
    categorical: dict[str, dict[str, int]] = {}
    for subject, column in categorical_subjects(model).items():
        c = quote_ident(column)
        rows = store.query(f"SELECT {c}, count(*) FROM {table} WHERE {c} IS NOT NULL GROUP BY 1 ORDER BY 1")
        if not rows:
            continue
        cat_counts = {str(k): int(v) for k, v in rows}
        categorical[subject] = cat_counts
        total = sum(cat_counts.values())
        prefix = {"prediction": "class_share", "label": "label_share"}.get(subject, f"feature.{subject}.share")
        cats = model.labels if subject in ("prediction", "label") else list(cat_counts)
        for cat in cats:
            baselines[f"{prefix}.{cat}"] = cat_counts.get(cat, 0) / total
    # Quality baselines when the reference carries both predictions and labels.
    from modelsteward.metrics.quality import quality_metrics

    confusion = store.query(
        f"SELECT prediction, label, count(*) FROM {table} WHERE prediction IS NOT NULL AND label IS NOT NULL GROUP BY 1, 2"
    )
    if confusion:
        baselines.update(quality_metrics({(p, t): int(n) for p, t, n in confusion}))
    return ReferenceProfile(model.name, source, n_rows, numeric, categorical, baselines)


def _bin_counts(store: Store, table: str, column_sql: str, edges: list[float]) -> list[int]:
    from modelsteward.metrics.binning import bin_index_sql

    expr, params = bin_index_sql(column_sql, edges)
    rows = dict(store.query(f"SELECT {expr} AS b, count(*) FROM {table} WHERE {column_sql} IS NOT NULL GROUP BY 1", params))
    return [int(rows.get(i, 0)) for i in range(len(edges) + 1)]


def _period_baselines(store: Store, model: ModelConfig) -> dict[str, float]:
    """For a period reference, the mean of each window metric over the period's windows.

    Only windows wholly inside ``[start, end)`` count: a window that began before the period
    or runs past its end would mix in data from outside the reference.
    """
    from modelsteward.metrics.window import WINDOW_LENGTH, compute_window_metrics

    ref = model.reference
    assert ref is not None and ref.start is not None and ref.end is not None
    length = WINDOW_LENGTH[model.window]
    per_window = {ws: m for ws, m in compute_window_metrics(store, model, ref.start, ref.end, profile=None).items()
                  if ws + length <= ref.end}
    sums: dict[str, list[float]] = {}
    for metrics in per_window.values():
        for k, v in metrics.items():
            if v is not None:
                sums.setdefault(k, []).append(float(v))
    return {k: sum(v) / len(v) for k, v in sums.items() if not k.startswith("drift.")}


def load_profile(store: Store, model: str) -> ReferenceProfile:
    rows = store.query("SELECT source, n_rows, profile FROM reference_profiles WHERE model = ?", [model])
    if not rows:
        raise NotFoundError(f"model {model!r} has no reference profile yet",
                            hint="configure `reference` in steward.yaml; it is built at the first `steward check`")
    source, n_rows, profile = rows[0]
    p = json.loads(profile)
    return ReferenceProfile(model, json.loads(source), int(n_rows), p["numeric"], p["categorical"], p["baselines"],
                            p.get("calibration"), p.get("novelty"))
