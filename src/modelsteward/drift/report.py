"""A drift report between two files: the drift engine without a monitored model.

``drift_report("reference.parquet", "current.parquet")`` infers the features and their kinds
from the reference's schema (numbers are numeric; text and booleans categorical), builds the
reference profile from scratch in an in-memory store (quantile bins, category counts, the
sorted reference ECDF), and runs every configured test on the current file, read column by
column straight from the file by the engine. Exact statistics cost memory and time with the
number of distinct values (see benchmarks/README.md for the figures at 1M and 10M rows). Columns
named ``confidence``, ``prediction`` and ``label`` are monitored as the model's outputs, as in
a window; the verdicts follow the same rules (effect and corrected significance).

>>> import tempfile, numpy as np, pyarrow as pa, pyarrow.parquet as pq
>>> rng = np.random.default_rng(0)
>>> d = tempfile.mkdtemp()
>>> pq.write_table(pa.table({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b"], 2000)}), d + "/ref.parquet")
>>> pq.write_table(pa.table({"x": rng.normal(0.5, 1, 2000), "c": rng.choice(["a", "b"], 2000)}), d + "/cur.parquet")
>>> report = drift_report(d + "/ref.parquet", d + "/cur.parquet")
>>> {f: v.status for f, v in report.features.items()}
{'x': 'drift', 'c': 'no_drift'}
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.config import IDENTIFIER, DriftSettings, ModelConfig
from modelsteward.drift.window_drift import DriftResult, drift_of
from modelsteward.errors import ConfigError
from modelsteward.records import feature_column
from modelsteward.reference import build_reference
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

__all__ = ["DriftReport", "SubjectVerdict", "drift_report"]

OUTPUT_COLUMNS = ("confidence", "prediction", "label")
_NUMERIC_TYPES = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|REAL)$")
_CATEGORICAL_TYPES = re.compile(r"^(VARCHAR|BOOLEAN|ENUM.*)$")


@dataclass(frozen=True)
class SubjectVerdict:
    """The verdict on one feature (or output), with the effect and the corrected p-value behind it."""

    subject: str
    column: str
    kind: str
    status: str
    effect_test: str | None
    effect: float | None
    threshold: float | None
    p_value: float | None
    p_adjusted: float | None
    reading: str
    n_reference: int
    n_current: int


@dataclass(frozen=True)
class DriftReport:
    """Every test and verdict of a current file against a reference file."""

    reference: str
    current: str
    n_reference: int
    n_current: int
    features: dict[str, SubjectVerdict]
    outputs: dict[str, SubjectVerdict]
    inputs_status: str
    inputs_reading: str
    results: list[DriftResult] = field(repr=False)
    seconds: float = 0.0
    multivariate: dict[str, Any] | None = None  # domain classifier and PCA reconstruction, when asked for

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "current": self.current, "n_reference": self.n_reference, "n_current": self.n_current,
            "seconds": self.seconds, "inputs": {"status": self.inputs_status, "reading": self.inputs_reading},
            "features": {k: asdict(v) for k, v in self.features.items()},
            "outputs": {k: asdict(v) for k, v in self.outputs.items()},
            "tests": [r.to_dict() for r in self.results if r.test != "verdict"],
            "multivariate": self.multivariate,
        }


def _reader(path: Path) -> str:
    return "read_parquet(?)" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto(?)"


def _feature_name(column: str, taken: set[str]) -> str:
    """A valid feature name for a column (lower case, letters, digits and ``_``), unique."""
    name = re.sub(r"[^a-z0-9_]", "_", column.lower())
    if not name or not name[0].isalpha():
        name = "f_" + name
    if name in ("prediction", "confidence", "label", "error", "timestamp") or not IDENTIFIER.match(name):
        name = ("col_" + name)[:60]
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def drift_report(
    reference: str | Path,
    current: str | Path,
    *,
    features: Mapping[str, str] | None = None,
    exclude: Sequence[str] = (),
    settings: DriftSettings | None = None,
    multivariate: bool = False,
    seed: int = 0,
    memory_limit_mb: int = 1024,
) -> DriftReport:
    """Compare ``current`` with ``reference`` (Parquet or CSV files) feature by feature.

    ``features`` maps column names to ``numeric`` or ``categorical`` (default: inferred from
    the reference's schema, all columns but ``exclude``); ``settings`` are the drift settings
    of ``steward.yaml`` (tests, thresholds, correction, significance). ``multivariate`` adds a
    domain classifier (cross-validated AUC, the features that separate the files ranked) and
    PCA reconstruction error, on seeded samples of at most 20,000 rows a side.
    ``memory_limit_mb`` bounds the engine's memory (it spills to disk beyond it).
    """
    started = time.perf_counter()
    ref_path, cur_path = Path(reference), Path(current)
    for p in (ref_path, cur_path):
        if not p.exists():
            raise ConfigError(f"file not found: {p}", hint="give the paths of a reference and a current Parquet or CSV file")
    store = DuckDBStore(":memory:")
    spill = tempfile.mkdtemp(prefix="steward-drift-")
    # Bound the engine's memory; what does not fit spills to a temporary folder on disk.
    store.query(f"SET temp_directory = '{spill}'")
    store.query(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
    try:
        schema = {r[0]: str(r[1]) for r in store.query(f"DESCRIBE SELECT * FROM {_reader(ref_path)}", [str(ref_path)])}
        cur_columns = {r[0] for r in store.query(f"DESCRIBE SELECT * FROM {_reader(cur_path)}", [str(cur_path)])}
        if features is None:
            kinds = {}
            for col, typ in schema.items():
                if col in exclude or col in OUTPUT_COLUMNS:
                    continue
                if _NUMERIC_TYPES.match(typ):
                    kinds[col] = "numeric"
                elif _CATEGORICAL_TYPES.match(typ):
                    kinds[col] = "categorical"
        else:
            kinds = dict(features)
        missing = [c for c in kinds if c not in cur_columns]
        if missing:
            raise ConfigError(f"columns of the reference missing from the current file: {', '.join(missing)}",
                              hint="compare files with the same columns, or pass features= / --exclude")
        taken: set[str] = set()
        names = {col: _feature_name(col, taken) for col in kinds}
        labels: list[str] = []
        for col in ("prediction", "label"):
            if col in schema and col in cur_columns:
                labels += [str(r[0]) for r in store.query(
                    f"SELECT DISTINCT CAST({_quote_any(col)} AS VARCHAR) FROM {_reader(ref_path)} WHERE {_quote_any(col)} IS NOT NULL "
                    "LIMIT 1000", [str(ref_path)])]
        labels = sorted(set(labels)) if len(set(labels)) >= 2 else ["_none_a", "_none_b"]
        columns = {names[c]: c for c in kinds}
        model = ModelConfig.model_validate({
            "name": "report", "task": "binary" if len(labels) == 2 else "multiclass", "labels": labels,
            "features": [{"name": names[c], "type": k} for c, k in kinds.items()],
            "reference": {"file": str(ref_path), "columns": columns},
            "drift": (settings or DriftSettings()).model_dump(),
        })
        profile = build_reference(store, model)
        selects = [f"TRY_CAST({_quote_any(col)} AS {'DOUBLE' if kinds[col] == 'numeric' else 'VARCHAR'}) AS "
                   f"{quote_ident(feature_column(names[col]))}" for col in kinds]
        for col, typ in (("confidence", "DOUBLE"), ("prediction", "VARCHAR"), ("label", "VARCHAR")):
            selects.append(f"TRY_CAST({col} AS {typ}) AS {col}" if col in cur_columns and col in schema else f"CAST(NULL AS {typ}) AS {col}")
        source = (f"(SELECT {', '.join(selects)} FROM {_reader(cur_path)}) AS current_rows", [str(cur_path)])
        results = drift_of(store, model, profile, source)
        n_current = int(store.query(f"SELECT count(*) FROM {_reader(cur_path)}", [str(cur_path)])[0][0])
        extra = _multivariate(store, ref_path, cur_path, kinds, seed) if multivariate and kinds else None
    finally:
        store.close()
        shutil.rmtree(spill, ignore_errors=True)
    back = {names[c]: c for c in kinds}
    verdicts = {r.subject: r for r in results if r.test == "verdict"}
    present = {c for c in OUTPUT_COLUMNS if c in schema and c in cur_columns}

    def subject(r: DriftResult, column: str, kind: str) -> SubjectVerdict:
        return SubjectVerdict(r.subject, column, kind, r.status, r.details.get("effect_test"), r.effect_size,
                              r.details.get("threshold"), r.p_value, r.details.get("p_adjusted"), r.reading,
                              r.n_reference, r.n_current)

    feature_verdicts = {back[s]: subject(r, back[s], kinds[back[s]]) for s, r in verdicts.items() if s in back}
    outputs = {s: subject(r, s, "numeric" if s == "confidence" else "categorical") for s, r in verdicts.items() if s in present}
    inputs = verdicts.get("inputs")
    kept = [r for r in results if r.subject in back or r.subject in present or r.subject == "inputs"]
    return DriftReport(str(ref_path), str(cur_path), profile.n_rows, n_current, feature_verdicts, outputs,
                       inputs.status if inputs else "not_enough_data", inputs.reading if inputs else "no input could be tested",
                       kept, round(time.perf_counter() - started, 3), extra)


SAMPLE_ROWS = 20_000


def _multivariate(store: DuckDBStore, ref_path: Path, cur_path: Path, kinds: Mapping[str, str], seed: int) -> dict[str, Any]:
    """Domain classifier and PCA reconstruction on seeded samples of both files."""
    import numpy as np

    from modelsteward.drift.multivariate import domain_classifier, pca_reconstruction

    def sample(path: Path) -> dict[str, Any]:
        cols = ", ".join(_quote_any(c) for c in kinds)
        rows = store.query(f"SELECT {cols} FROM {_reader(path)} USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE ({int(seed)})",
                           [str(path)])
        return {c: np.array([r[i] for r in rows], dtype=float if k == "numeric" else object)
                for i, (c, k) in enumerate(kinds.items())}

    ref, cur = sample(ref_path), sample(cur_path)
    dc = domain_classifier(ref, cur, kinds=kinds, seed=seed)
    pca = pca_reconstruction(ref, cur, kinds=kinds, seed=seed)
    return {"domain_classifier": dc.to_dict(), "pca_reconstruction": asdict(pca)}


def _quote_any(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
