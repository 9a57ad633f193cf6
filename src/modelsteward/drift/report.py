"""A drift report between two files: the drift engine without a monitored model.

``drift_report("reference.parquet", "current.parquet")`` infers the features and their kinds
from the reference's schema (numbers are numeric; text and booleans categorical) and tests
every feature of the current file against the reference, reading both files in place with
DuckDB (no copy into a store), one column at a time. Each numeric feature's summary is built
in one pass over each file (:mod:`~modelsteward.drift.file_stats`): exact statistics, equal to
scipy's, while both files hold at most ``exact_max_rows`` rows together (default 200,000);
beyond that, grid sketches whose KS and Wasserstein values are lower bounds with the stated
error stored beside them (:mod:`~modelsteward.drift.sketch`), so verdicts stay on the
conservative side and move by at most that error where the method switches. Memory holds one
column of each file at a time, and at most 2M values of it (longer columns are streamed).
Categorical features are counted by the engine. Columns named ``confidence``, ``prediction``
and ``label`` are monitored as the model's outputs, as in a window; the verdicts follow the
same rules (effect and corrected significance) through the window engine's own code
(:mod:`~modelsteward.drift.assemble`).

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modelsteward.config import IDENTIFIER, DriftSettings, ModelConfig
from modelsteward.drift.assemble import assemble, categorical_test
from modelsteward.drift.window_drift import DriftResult, _Tested
from modelsteward.errors import ConfigError, InsufficientDataError

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
    exact_max_rows: int | None = None,
    workers: int = 2,
) -> DriftReport:
    """Compare ``current`` with ``reference`` (Parquet or CSV files) feature by feature.

    ``features`` maps column names to ``numeric`` or ``categorical`` (default: inferred from
    the reference's schema, all columns but ``exclude``); ``settings`` are the drift settings
    of ``steward.yaml`` (tests, thresholds, correction, significance). ``multivariate`` adds a
    domain classifier (cross-validated AUC, the features that separate the files ranked) and
    PCA reconstruction error, on seeded samples of at most 20,000 rows a side.
    ``memory_limit_mb`` bounds the engine's memory (it spills to disk beyond it).
    ``exact_max_rows`` (default :data:`~modelsteward.drift.file_stats.EXACT_MAX_ROWS`): up to
    this many rows in both files together the numeric statistics are exact; beyond, they come
    from grid sketches with the error bound stored beside each value
    (:mod:`~modelsteward.drift.sketch`). ``workers`` numeric subjects are tested at a time.
    """
    import duckdb

    from modelsteward.drift.file_stats import EXACT_MAX_ROWS, ColumnRef, numeric_file_test

    started = time.perf_counter()
    ref_path, cur_path = Path(reference), Path(current)
    for p in (ref_path, cur_path):
        if not p.exists():
            raise ConfigError(f"file not found: {p}", hint="give the paths of a reference and a current Parquet or CSV file")
    con = duckdb.connect(":memory:")
    spill = tempfile.mkdtemp(prefix="steward-drift-")
    # Bound the engine's memory; what does not fit spills to a temporary folder on disk.
    con.execute("SET temp_directory = ?", [spill]).fetchall()
    con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'").fetchall()
    try:
        def query(sql: str, params: list[Any]) -> list[Any]:
            return con.execute(sql, params).fetchall()

        schema = {r[0]: str(r[1]) for r in query(f"DESCRIBE SELECT * FROM {_reader(ref_path)}", [str(ref_path)])}
        cur_columns = {r[0] for r in query(f"DESCRIBE SELECT * FROM {_reader(cur_path)}", [str(cur_path)])}
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
                labels += [str(r[0]) for r in query(
                    f"SELECT DISTINCT CAST({_quote_any(col)} AS VARCHAR) FROM {_reader(ref_path)} WHERE {_quote_any(col)} IS NOT NULL "
                    "LIMIT 1000", [str(ref_path)])]
        labels = sorted(set(labels)) if len(set(labels)) >= 2 else ["_none_a", "_none_b"]
        model = ModelConfig.model_validate({
            "name": "report", "task": "binary" if len(labels) == 2 else "multiclass", "labels": labels,
            "features": [{"name": names[c], "type": k} for c, k in kinds.items()],
            "reference": {"file": str(ref_path), "columns": {names[c]: c for c in kinds}},
            "drift": (settings or DriftSettings()).model_dump(),
        })
        present = {c for c in OUTPUT_COLUMNS if c in schema and c in cur_columns}
        numeric = {names[c]: c for c, k in kinds.items() if k == "numeric"}
        if "confidence" in present:
            numeric["confidence"] = "confidence"
        categorical = {names[c]: c for c, k in kinds.items() if k == "categorical"}
        categorical |= {c: c for c in ("prediction", "label") if c in present}
        sources = {side: (_reader(path), [str(path)]) for side, path in (("ref", ref_path), ("cur", cur_path))}
        n_ref = int(query(f"SELECT count(*) FROM {sources['ref'][0]}", sources["ref"][1])[0][0])
        n_current = int(query(f"SELECT count(*) FROM {sources['cur'][0]}", sources["cur"][1])[0][0])
        limit = EXACT_MAX_ROWS if exact_max_rows is None else int(exact_max_rows)

        def numeric_expr(col: str) -> str:
            value = f"TRY_CAST({_quote_any(col)} AS DOUBLE)"
            return value if schema.get(col) == "DOUBLE" else f"CASE WHEN isfinite({value}) THEN {value} END"

        tested: list[_Tested] = []
        early: list[DriftResult] = []

        def one(name: str, col: str) -> _Tested | DriftResult:
            cursor = con.cursor()  # one per thread
            try:
                expr = numeric_expr(col)
                return numeric_file_test(cursor, model, name, ColumnRef(expr, sources["ref"], n_ref),
                                         ColumnRef(expr, sources["cur"], n_current), exact_max_rows=limit)
            finally:
                cursor.close()

        # Two subjects at a time: the engine decodes while numpy counts (both release the GIL).
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(numeric) or 1))) as pool:
            for got in pool.map(lambda item: one(*item), list(numeric.items())):
                (tested.append(got) if isinstance(got, _Tested) else early.append(got))
        for name, col in categorical.items():
            expr = f"TRY_CAST({_quote_any(col)} AS VARCHAR)"
            ref_counts = {str(k): int(n) for k, n in query(
                f"SELECT {expr} AS v, count(*) FROM {sources['ref'][0]} WHERE v IS NOT NULL GROUP BY 1", sources["ref"][1])}
            cur_source = (f"(SELECT {expr} AS v FROM {sources['cur'][0]}) AS current_rows", sources["cur"][1])
            got_c = categorical_test(con, model, name, ref_counts, cur_source, "v")
            (tested.append(got_c) if isinstance(got_c, _Tested) else early.append(got_c))
        results = assemble(model, tested, early)
        extra = _multivariate(con, ref_path, cur_path, kinds, seed) if multivariate and kinds else None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    back = {names[c]: c for c in kinds}
    verdicts = {r.subject: r for r in results if r.test == "verdict"}

    def subject(r: DriftResult, column: str, kind: str) -> SubjectVerdict:
        return SubjectVerdict(r.subject, column, kind, r.status, r.details.get("effect_test"), r.effect_size,
                              r.details.get("threshold"), r.p_value, r.details.get("p_adjusted"), r.reading,
                              r.n_reference, r.n_current)

    feature_verdicts = {back[s]: subject(r, back[s], kinds[back[s]]) for s, r in verdicts.items() if s in back}
    outputs = {s: subject(r, s, "numeric" if s == "confidence" else "categorical") for s, r in verdicts.items() if s in present}
    inputs = verdicts.get("inputs")
    kept = [r for r in results if r.subject in back or r.subject in present or r.subject == "inputs"]
    return DriftReport(str(ref_path), str(cur_path), n_ref, n_current, feature_verdicts, outputs,
                       inputs.status if inputs else "not_enough_data", inputs.reading if inputs else "no input could be tested",
                       kept, round(time.perf_counter() - started, 3), extra)


SAMPLE_ROWS = 20_000


def _multivariate(con: Any, ref_path: Path, cur_path: Path, kinds: Mapping[str, str], seed: int) -> dict[str, Any]:
    """Domain classifier and PCA reconstruction on seeded samples of both files."""
    import numpy as np

    from modelsteward.drift.multivariate import domain_classifier, pca_reconstruction

    def sample(path: Path) -> dict[str, Any]:
        cols = ", ".join(_quote_any(c) for c in kinds)
        rows = con.execute(f"SELECT {cols} FROM {_reader(path)} USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE ({int(seed)})",
                           [str(path)]).fetchall()
        return {c: np.array([r[i] for r in rows], dtype=float if k == "numeric" else object)
                for i, (c, k) in enumerate(kinds.items())}

    ref, cur = sample(ref_path), sample(cur_path)
    dc = domain_classifier(ref, cur, kinds=kinds, seed=seed)
    try:
        pca: dict[str, Any] = asdict(pca_reconstruction(ref, cur, kinds=kinds, seed=seed))
    except InsufficientDataError as exc:  # e.g. the reference lies exactly in its principal subspace
        pca = {"status": "not_enough_data", "reading": exc.message}
    return {"domain_classifier": dc.to_dict(), "pca_reconstruction": pca}


def _quote_any(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
