"""Bulk loading of prediction and feedback files (CSV, TSV or Parquet).

The file is read twice, in batches, so memory stays flat whatever its size: the first pass
validates every row and reports every invalid one (nothing is written if any row is bad); the
second pass writes. Each batch is one transaction, and writes are idempotent by id, so an
ingest interrupted in the second pass can simply be run again: what was written is counted as
already stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from modelsteward.errors import BatchRejected, RowError, StewardError
from modelsteward.records import normalise_feedback, normalise_predictions

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["FileIngestResult", "ingest_file", "parse_column_mapping", "read_batches"]

Progress = Callable[[str, int, int | None], None]  # (phase, rows just done, total rows or None)


@dataclass(frozen=True)
class FileIngestResult:
    file: str
    model: str
    kind: str
    rows: int
    inserted: int
    duplicates: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_column_mapping(items: Sequence[str]) -> dict[str, str]:
    """``["ts=timestamp", "id=prediction_id"]`` → ``{"ts": "timestamp", "id": "prediction_id"}``.

    >>> parse_column_mapping(["ts=timestamp"])
    {'ts': 'timestamp'}
    """
    out = {}
    for item in items:
        if "=" not in item:
            raise StewardError(f"column mapping {item!r}: expected COLUMN=FIELD", hint="for example --map ts=timestamp")
        src, dst = item.split("=", 1)
        out[src.strip()] = dst.strip()
    return out


def read_batches(path: Path, batch_size: int) -> tuple[int | None, Iterator[pa.RecordBatch]]:
    """The file's row count (when cheap to know) and an iterator over its record batches."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        pf = pq.ParquetFile(path)
        return pf.metadata.num_rows, iter(pf.iter_batches(batch_size=batch_size))
    if suffix in (".csv", ".tsv"):
        opts = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
        reader = pacsv.open_csv(path, parse_options=opts, read_options=pacsv.ReadOptions(block_size=1 << 22))
        return None, iter(reader)
    raise StewardError(f"{path}: expected a .csv, .tsv or .parquet file", hint="convert the file, or pass the data through the SDK")


def ingest_file(
    monitor: Monitor,
    path: str | Path,
    *,
    model: str | None = None,
    columns: Mapping[str, str] | None = None,
    attribute_columns: Sequence[str] = (),
    feedback: bool = False,
    batch_size: int = 100_000,
    progress: Progress | None = None,
) -> FileIngestResult:
    """Validate the whole file, then write it batch by batch (see the module's docstring)."""
    path = Path(path)
    cfg = monitor.model(model)
    report = progress or (lambda _phase, _n, _total: None)

    def batches() -> Iterator[tuple[int, pa.Table, pa.Table | BatchRejected]]:
        """(offset of the batch in the file, the batch, its normalised rows or why it was rejected)."""
        offset = 0
        for batch in read_batches(path, batch_size)[1]:
            table = pa.Table.from_batches([batch])
            if columns:
                table = table.rename_columns([columns.get(c, c) for c in table.column_names])
            try:
                rows: pa.Table | BatchRejected = (normalise_feedback(table, cfg) if feedback
                                                  else normalise_predictions(table, cfg, attribute_columns=attribute_columns))
            except BatchRejected as exc:
                rows = exc
            yield offset, table, rows
            offset += table.num_rows

    total = read_batches(path, batch_size)[0]
    errors: list[RowError] = []
    n_rows = 0
    for offset, table, rows in batches():  # pass 1: validate everything, collect every problem
        if isinstance(rows, BatchRejected):
            errors.extend(replace(r, index=None if r.index is None else r.index + offset) for r in rows.rows)
        n_rows += table.num_rows
        report("validating", table.num_rows, total)
    if errors:
        raise BatchRejected(errors, total=n_rows)
    inserted = 0
    for _, table, rows in batches():  # pass 2: write, one transaction a batch
        assert not isinstance(rows, BatchRejected)  # the file was validated in pass 1
        new, _ = monitor.store.insert_feedback(cfg, rows) if feedback else monitor.store.insert_predictions(cfg, rows)
        inserted += new
        report("writing", table.num_rows, n_rows)
    return FileIngestResult(str(path), cfg.name, "feedback" if feedback else "predictions", n_rows, inserted, n_rows - inserted)
