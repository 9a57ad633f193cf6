"""Bulk loading: the whole file is validated first (every bad row reported with its line in the
file), written batch by batch, and safe to run again."""

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from modelsteward import BatchRejected, Monitor, StewardConfig
from modelsteward.ingest import ingest_file, parse_column_mapping


def config():
    return StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "features": [{"name": "x", "type": "numeric"}]}]})


def table(n, bad=()):
    return pa.table({
        "id": [f"p{i}" for i in range(n)],
        "prediction": ["y"] * n,
        "confidence": [1.7 if i in bad else 0.5 for i in range(n)],
        "x": [float(i) for i in range(n)],
    })


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_bad_rows_in_several_batches_are_all_reported_and_nothing_is_written(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    data = table(300, bad={10, 260})
    (pq.write_table if suffix == ".parquet" else pacsv.write_csv)(data, path)
    with Monitor(config(), store=tmp_path / "s.duckdb") as mon:
        with pytest.raises(BatchRejected) as exc:
            ingest_file(mon, path, columns={"id": "prediction_id"}, batch_size=50)
        assert [(r.index, r.record_id, r.field) for r in exc.value.rows] == [(10, "p10", "confidence"), (260, "p260", "confidence")]
        assert mon.count_predictions() == 0


def test_ingest_writes_in_batches_reports_progress_and_is_idempotent(tmp_path):
    path = tmp_path / "p.parquet"
    pq.write_table(table(300), path)
    seen = []
    with Monitor(config(), store=tmp_path / "s.duckdb") as mon:
        result = ingest_file(mon, path, columns=parse_column_mapping(["id=prediction_id"]), batch_size=64,
                             progress=lambda phase, n, total: seen.append((phase, n, total)))
        assert (result.rows, result.inserted, result.duplicates) == (300, 300, 0)
        assert [n for phase, n, _ in seen if phase == "validating"] == [64, 64, 64, 64, 44]
        assert sum(n for phase, n, _ in seen if phase == "writing") == 300
        assert {total for _, _, total in seen} == {300}
        assert mon.count_predictions() == 300
        again = ingest_file(mon, path, columns={"id": "prediction_id"}, batch_size=64)
        assert (again.inserted, again.duplicates) == (0, 300)
        stored = mon.store.query(f"SELECT sum(f_x) FROM {mon.store.predictions_table('m')}")[0][0]
        assert stored == sum(range(300))
