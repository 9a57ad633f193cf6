"""The labelled dataset of a retrain request, exported as Parquet.

One row per prediction that has a resolved ground-truth label (the resolution of
:mod:`modelsteward.feedback.labels`, the same one the quality metrics use), made before the
request's ``as_of`` time. Columns: ``prediction_id``, ``timestamp``, ``model_version``, one
column per feature (named like the feature), ``prediction``, ``confidence``, ``label`` (the
resolved label) and ``label_source`` (the feedback kind it came from). The file is written to
a temporary name and renamed, so a reader never sees half a file.

>>> import tempfile, pyarrow.parquet as pq
>>> from datetime import datetime
>>> from pathlib import Path
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"],
...     "features": [{"name": "category", "type": "categorical"}]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> _ = mon.log_prediction(prediction_id="p1", prediction="a", confidence=0.9, features={"category": "x"},
...                        timestamp=datetime(2026, 1, 5))
>>> _ = mon.log_feedback("p1", kind="explicit", label="b")
>>> path = Path(tempfile.mkdtemp()) / "export.parquet"
>>> export_labelled(mon.store, mon.model(), path)
1
>>> pq.read_table(path).select(["prediction_id", "category", "prediction", "label", "label_source"]).to_pylist()
[{'prediction_id': 'p1', 'category': 'x', 'prediction': 'a', 'label': 'b', 'label_source': 'explicit'}]
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from modelsteward.config import ModelConfig
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.records import feature_column
from modelsteward.store.base import Store
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables

__all__ = ["export_labelled", "labelled_sql"]


def labelled_sql(model: ModelConfig, *, until: datetime | None = None) -> tuple[str, list[object]]:
    """SQL (and parameters) of the export's rows, in time order."""
    labels_sql, params = resolved_labels_sql(model)
    table = ModelTables.predictions_table(model.name)
    features = "".join(f", p.{quote_ident(feature_column(f.name))} AS {quote_ident(f.name)}" for f in model.features)
    where = " WHERE p.ts < ?" if until is not None else ""
    sql = (f"SELECT p.prediction_id, p.ts AS timestamp, p.model_version{features}, p.prediction, p.confidence, "
           f"l.label, l.source AS label_source FROM {table} p JOIN ({labels_sql}) l USING (prediction_id)"
           f"{where} ORDER BY p.ts, p.prediction_id")
    return sql, [*params, *([until] if until is not None else [])]


def export_labelled(store: Store, model: ModelConfig, path: str | Path, *, until: datetime | None = None) -> int:
    """Write the labelled predictions made before ``until`` (all, when None) to ``path``; returns the row count."""
    sql, params = labelled_sql(model, until=until)
    table = store.query_arrow(sql, params)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh, unguessable temporary name opened exclusively: a file or symlink planted at a
    # predictable name next to the export is never written through.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return table.num_rows
