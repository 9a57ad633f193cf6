"""Where the window aggregations run: the ``engine:`` section of ``steward.yaml``.

The same aggregations (written once as Ibis expressions, :mod:`modelsteward.engines`) run on
DuckDB, PostgreSQL or Apache Spark. State (window metrics, drift results, alerts) always stays
in the store; only the reading of the events moves.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from modelsteward.config.base import _Strict

__all__ = ["EngineSettings"]

_SIZE = r"^[0-9]+(\.[0-9]+)?\s*([KMGT]i?B)$"  # DuckDB's memory sizes: 512MB, 1.5GB, 4GiB


class EngineSettings(_Strict):
    """Which engine aggregates the prediction events, and where it finds them."""

    kind: Literal["duckdb", "postgres", "spark"] = Field(
        default="duckdb",
        description="Engine that aggregates windows: `duckdb` (the store's file, or `events` Parquet files), "
                    "`postgres` (the tables at `url`) or `spark` (PySpark over the `events` Parquet log).",
    )
    events: str | None = Field(
        default=None,
        description="Root of a Parquet prediction log laid out as `<root>/model=<name>/date=YYYY-MM-DD/part-*.parquet` "
                    "(feedback under `<root>/_feedback/model=<name>/...`); required for `spark`, optional for `duckdb` "
                    "(default: the store's own tables).",
    )
    url: str | None = Field(default=None, description="`postgresql://` URL of the database holding the events (kind `postgres`).")
    master: str = Field(default="local[2]", description="Spark master URL (`local[N]` runs Spark inside this machine).")
    shuffle_partitions: int = Field(default=4, ge=1, description="`spark.sql.shuffle.partitions` of the Spark session.")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Further Spark settings (`spark.driver.memory: 4g`, ...).")
    memory_limit: str | None = Field(
        default="1GB",
        pattern=_SIZE,
        description="DuckDB's `memory_limit` (`512MB`, `1GB`, ...) for the in-process DuckDB over `events`, and for a "
                    "DuckDB store's database when an engine is opened on it (`kind: duckdb` without `events`; the setting "
                    "is database-wide: the store's ingest shares it). Beyond it DuckDB spills to `temp_directory`, so memory "
                    "stays flat as rows grow; null leaves DuckDB's default (80% of the machine's RAM).",
    )
    temp_directory: str | None = Field(
        default=None,
        description="Where DuckDB spills beyond `memory_limit` (default: DuckDB's, `<store file>.tmp` or `.tmp` in the "
                    "working directory for the in-process engine over `events`). Needs free disk of the order of a window's rows.",
    )
    driver_memory: str | None = Field(
        default="2g",
        pattern=r"^[0-9]+[kKmMgGtT]$",
        description="`spark.driver.memory` of the Spark session (`2g`, `6g`, ...): in local mode the whole heap of the "
                    "JVM that runs the queries. Read when the JVM starts (the first Spark engine of the process); "
                    "`spark_conf` overrides it; null leaves Spark's default (1g).",
    )
    quantiles: Literal["exact", "approximate"] = Field(
        default="exact",
        description="`exact` latency percentiles (linear interpolation, as numpy's default, on every engine) or "
                    "`approximate` (DuckDB's t-digest, Spark's `approx_percentile`; PostgreSQL stays exact).",
    )

    @model_validator(mode="after")
    def _needs(self) -> EngineSettings:
        if self.kind == "spark" and not self.events:
            raise ValueError("engine.kind spark needs engine.events: the root of the Parquet prediction log")
        if self.kind == "postgres" and not (self.url or "").startswith(("postgresql://", "postgres://")):
            raise ValueError("engine.kind postgres needs engine.url, a postgresql:// URL")
        return self
