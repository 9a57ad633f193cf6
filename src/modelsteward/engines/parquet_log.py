"""The Parquet prediction log that Spark and DuckDB both read, partitioned by date.

Layout (hive partitions; one folder per model and day)::

    <root>/model=<name>/date=YYYY-MM-DD/part-*.parquet            predictions: the store's columns
    <root>/_feedback/model=<name>/date=YYYY-MM-DD/part-*.parquet  feedback: the store's columns but ``model``

:func:`write_parquet_log` appends validated batches (the same validation as
:meth:`~modelsteward.monitor.Monitor.log_predictions`: a bad row rejects the batch, as in the
store); :func:`export_parquet_log` copies what a store already holds. Appending never
rewrites a file: each batch adds ``part-<uuid>-<n>.parquet`` files to its days' folders.
Unlike the store, the log does not collapse a prediction id written twice; write each batch once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from modelsteward.config import ModelConfig
from modelsteward.records import normalise_feedback, normalise_predictions
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["ParquetWrite", "export_parquet_log", "write_parquet_log"]


@dataclass(frozen=True)
class ParquetWrite:
    """What one write added to the log."""

    predictions: int
    feedback: int
    root: str


def _append(table: pa.Table, folder: Path) -> None:
    if table.num_rows == 0:
        return
    table = table.append_column("date", pc.cast(table.column("ts"), pa.date32()))
    ds.write_dataset(table, folder, format="parquet", partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
                     basename_template=f"part-{uuid.uuid4().hex}-{{i}}.parquet", existing_data_behavior="overwrite_or_ignore",
                     max_rows_per_file=4_000_000, max_rows_per_group=1 << 20)


def write_parquet_log(root: str | Path, model: ModelConfig, predictions: Any = None, feedback: Any = None, *,
                      now: datetime | None = None) -> ParquetWrite:
    """Validate a batch of predictions and/or feedback and append it to the log under ``root``.

    ``predictions`` and ``feedback`` take what ``Monitor.log_predictions`` and
    ``Monitor.log_feedbacks`` take (a list of dicts, a pyarrow Table, a pandas DataFrame).

    >>> import tempfile
    >>> from modelsteward.config import ModelConfig
    >>> m = ModelConfig(name="m", task="binary", labels=["yes", "no"], features=[{"name": "x", "type": "numeric"}])
    >>> root = tempfile.mkdtemp()
    >>> w = write_parquet_log(root, m, [{"prediction_id": "a", "timestamp": "2026-01-05T10:00:00", "prediction": "yes",
    ...                                  "confidence": 0.9, "features": {"x": 1.5}}])
    >>> w.predictions, sorted(p.name for p in Path(root, "model=m").iterdir())
    (1, ['date=2026-01-05'])
    """
    stamp = pa.scalar(now or datetime.utcnow(), pa.timestamp("us"))
    base = Path(root)
    n_pred = n_fb = 0
    if predictions is not None:
        rows = normalise_predictions(predictions, model)
        rows = rows.append_column("ingested_at", pa.array([stamp.as_py()] * rows.num_rows, pa.timestamp("us")))
        if "novelty" not in rows.column_names:
            rows = rows.append_column("novelty", pa.nulls(rows.num_rows, pa.float64()))
        _append(rows, base / f"model={model.name}")
        n_pred = rows.num_rows
    if feedback is not None:
        fb = normalise_feedback(feedback, model)
        if "model" in fb.column_names:
            fb = fb.drop_columns(["model"])
        ts = fb.column("ts")
        if ts.null_count:  # as the store does: a record without a timestamp gets the time of the write
            fb = fb.set_column(fb.column_names.index("ts"), "ts", pc.fill_null(ts, stamp))
        fb = fb.append_column("ingested_at", pa.array([stamp.as_py()] * fb.num_rows, pa.timestamp("us")))
        _append(fb, base / "_feedback" / f"model={model.name}")
        n_fb = fb.num_rows
    return ParquetWrite(n_pred, n_fb, str(base))


def export_parquet_log(store: Store, model: ModelConfig, root: str | Path) -> ParquetWrite:
    """Copy a model's predictions and feedback from the store into the log under ``root`` (DuckDB writes it).

    From a PostgreSQL store the rows are read as Arrow and written by an in-memory DuckDB, in the same layout.
    """
    from modelsteward.store.base import dialect

    base = Path(root)
    table = ModelTables.predictions_table(model.name)
    n_pred = store.count_predictions(model.name)
    n_fb = int(store.query("SELECT count(*) FROM feedback WHERE model = ?", [model.name])[0][0])
    pattern = f"part-{uuid.uuid4().hex}-{{i}}"
    for sql, folder, n in (
        (f"SELECT * FROM {table}", base / f"model={model.name}", n_pred),
        # the name is a validated identifier (MODEL_NAME): safe as a literal, and COPY takes no parameters
        (f"SELECT * EXCLUDE (model) FROM feedback WHERE model = '{model.name}'", base / "_feedback" / f"model={model.name}", n_fb),
    ):
        if not n:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        literal = str(folder).replace("'", "''")
        copy = (f"COPY (SELECT *, CAST(ts AS DATE) AS date FROM (<rows>) AS r) TO '{literal}' (FORMAT parquet, "
                f"PARTITION_BY (date), FILENAME_PATTERN '{pattern}', OVERWRITE_OR_IGNORE true)")
        if dialect(store) == "duckdb":
            store.query(copy.replace("<rows>", sql))
            continue
        with duckdb.connect() as con:  # COPY ... FORMAT parquet is DuckDB's: the other store's rows pass through Arrow
            con.register("_rows", store.query_arrow(sql))
            con.execute(copy.replace("<rows>", "SELECT * FROM _rows"))
    return ParquetWrite(n_pred, n_fb, str(base))
