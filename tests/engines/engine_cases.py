"""The engines of the contract tests, by name (imported by the tests and the conftest of this folder)."""

from __future__ import annotations

from typing import Any

import pytest

from modelsteward.config import EngineSettings
from modelsteward.engines.connect import Engine, open_engine, store_engine

ENGINES = ["duckdb-store", "duckdb-parquet", "spark", "postgres"]


def make_engine(kind: str, request: pytest.FixtureRequest, *, quantiles: str = "exact") -> tuple[Engine, Any]:
    """``(engine, monitor holding the state)`` of one kind for the shared dataset."""
    mon, root = request.getfixturevalue("built")
    if kind == "duckdb-store":
        return store_engine(mon.store, quantiles=quantiles), mon
    if kind == "duckdb-parquet":
        return open_engine(EngineSettings(kind="duckdb", events=str(root), quantiles=quantiles)), mon
    if kind == "spark":
        settings = request.getfixturevalue("spark_settings").model_copy(update={"quantiles": quantiles})
        return open_engine(settings), mon
    pg = request.getfixturevalue("pg_monitor")
    return store_engine(pg.store), pg
