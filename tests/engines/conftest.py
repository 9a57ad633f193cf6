"""Engines under contract: the same seeded dataset on DuckDB (store and Parquet), Spark local mode and PostgreSQL.

One dataset is built per test session (``dataset.build``) and exported to the Parquet log;
one Spark session serves every test (its start takes seconds) with two shuffle partitions.
PostgreSQL runs when ``STEWARD_TEST_PG_URL`` names a reachable server (``./dev test`` starts
one); otherwise its cases skip and say why.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dataset as D  # noqa: E402
from engine_cases import ENGINES, make_engine  # noqa: E402

from modelsteward.config import EngineSettings, StewardConfig  # noqa: E402
from modelsteward.engines.connect import Engine  # noqa: E402
from modelsteward.engines.parquet_log import export_parquet_log  # noqa: E402
from modelsteward.monitor import Monitor  # noqa: E402


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Monitor, Path]]:
    """The Monitor over a DuckDB file with the dataset, and the Parquet log exported from it."""
    tmp = tmp_path_factory.mktemp("engines")
    mon = D.build(tmp)
    export_parquet_log(mon.store, mon.model(), tmp / "log")
    yield mon, tmp / "log"
    mon.close()


@pytest.fixture(scope="session")
def spark_settings(built: tuple[Monitor, Path]) -> EngineSettings:
    pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra (pyspark)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("the Spark engine needs Java 17+ (java not found)")
    return EngineSettings(kind="spark", events=str(built[1]), master="local[2]", shuffle_partitions=2)


def _pg_admin_url(config: pytest.Config) -> str | None:
    """STEWARD_TEST_PG_URL, as the suite's top conftest took it out of the environment (or as still set)."""
    for plugin in config.pluginmanager.get_plugins():
        url = getattr(plugin, "_PG_ADMIN_URL", None)
        if isinstance(url, str) and url:
            return url
    return os.environ.get("STEWARD_TEST_PG_URL")


@contextmanager
def _fresh_database(config: pytest.Config, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database's URL (skips without a server); dropped when the block ends."""
    admin = _pg_admin_url(config)
    if not admin:
        pytest.skip("PostgreSQL engine cases need STEWARD_TEST_PG_URL (./dev test starts a server and sets it when run as root)")
    psycopg = pytest.importorskip("psycopg")
    from urllib.parse import urlsplit

    name = prefix + uuid.uuid4().hex[:10]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at STEWARD_TEST_PG_URL is not reachable: {exc}")
    parts = urlsplit(admin)
    try:
        yield f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def fresh_pg_database(pytestconfig: pytest.Config) -> Callable[[str], AbstractContextManager[str]]:
    """``with fresh_pg_database("prefix_") as url:`` a database of its own for a fixture's rows."""
    return lambda prefix: _fresh_database(pytestconfig, prefix)


@pytest.fixture(scope="session")
def pg_monitor(built: tuple[Monitor, Path], fresh_pg_database: Callable[[str], AbstractContextManager[str]]) -> Iterator[Monitor]:
    """The same dataset logged into a fresh PostgreSQL database (dropped at the end)."""
    with fresh_pg_database("steward_engines_") as url:
        tmp = Path(built[1]).parent
        mon = Monitor(StewardConfig.model_validate(D.config_dict(tmp / "ref.parquet")), store=url)
        for start, drifted, seed in ((D.WEEK1, False, 11), (D.WEEK2, True, 12)):
            preds, fb = D.week_rows(start, drifted=drifted, seed=seed)
            mon.log_predictions(preds)
            mon.log_feedbacks(fb)
        mon.reference(rebuild=True)
        yield mon
        mon.close()


@pytest.fixture(params=ENGINES)
def engine_and_monitor(request: pytest.FixtureRequest) -> tuple[Engine, Any]:
    return make_engine(request.param, request)
