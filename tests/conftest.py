"""Shared fixtures: small model configurations and a Monitor over a DuckDB file in tmp_path.

The factories build plain dicts first (so a test can change one key and validate again),
then the pydantic objects. They are handed out as fixtures (``model_dict``, ``make_model``,
``make_config``, ``prediction_record``) so test modules need not import this file.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelsteward.config import ModelConfig, StewardConfig
from modelsteward.monitor import Monitor

LABELS = ["urgent", "routine"]


def _model_dict(name: str = "tickets", **overrides: Any) -> dict[str, Any]:
    """A small binary model: one categorical and one numeric feature, no alerts."""
    base: dict[str, Any] = {
        "name": name,
        "task": "binary",
        "labels": list(LABELS),
        "features": [
            {"name": "category", "type": "categorical"},
            {"name": "length", "type": "numeric"},
        ],
    }
    base.update(copy.deepcopy(overrides))
    return base


def _make_model(name: str = "tickets", **overrides: Any) -> ModelConfig:
    return ModelConfig.model_validate(_model_dict(name, **overrides))


def _make_config(*models: dict[str, Any] | ModelConfig, **top: Any) -> StewardConfig:
    """A StewardConfig of the given models (default: one ``tickets`` model)."""
    items = [m.model_dump(by_alias=True) if isinstance(m, ModelConfig) else m for m in models] or [_model_dict()]
    return StewardConfig.model_validate({"models": items, **top})


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "steward.duckdb"


@pytest.fixture
def open_monitor(db_path: Path) -> Iterator[Callable[..., Monitor]]:
    """``open_monitor(config=None, path=None)``: a Monitor over a DuckDB file, closed at teardown."""
    opened: list[Monitor] = []

    def _open(config: StewardConfig | None = None, path: Path | str | None = None) -> Monitor:
        mon = Monitor(config or _make_config(), store=path or db_path)
        opened.append(mon)
        return mon

    yield _open
    for mon in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            mon.close()


@pytest.fixture
def monitor(open_monitor: Callable[..., Monitor]) -> Monitor:
    """A Monitor of the default ``tickets`` model over a fresh DuckDB file."""
    return open_monitor()


def _prediction(pid: str, **overrides: Any) -> dict[str, Any]:
    """A valid prediction record of the default model."""
    rec: dict[str, Any] = {
        "prediction_id": pid,
        "prediction": "urgent",
        "confidence": 0.9,
        "latency_ms": 120.0,
        "features": {"category": "technical", "length": 42.0},
    }
    rec.update(overrides)
    return rec


@pytest.fixture
def model_dict() -> Callable[..., dict[str, Any]]:
    return _model_dict


@pytest.fixture(name="make_model")
def make_model_fixture() -> Callable[..., ModelConfig]:
    return _make_model


@pytest.fixture(name="make_config")
def make_config_fixture() -> Callable[..., StewardConfig]:
    return _make_config


@pytest.fixture
def prediction_record() -> Callable[..., dict[str, Any]]:
    return _prediction


# -- PostgreSQL (the server-deployment store) -------------------------------------------------
# `./dev test` starts a local server and exports STEWARD_TEST_PG_URL (a superuser's URL); each
# test that asks for `pg_url` gets a fresh database of its own, dropped after. Without the
# variable, or with a server that does not answer, those tests skip and say why.

def _pop_pg_admin_url() -> str | None:
    import os

    # Taken out of the environment: commands the tests run compare the STEWARD_* variables they get.
    return os.environ.pop("STEWARD_TEST_PG_URL", None)


_PG_ADMIN_URL = _pop_pg_admin_url()


def _pg_admin_url() -> str:
    url = _PG_ADMIN_URL
    if not url:
        pytest.skip("PostgreSQL tests need STEWARD_TEST_PG_URL (./dev test starts a server and sets it when run as root)")
    return url


def pg_database_url(admin_url: str, name: str) -> str:
    """``admin_url`` pointed at database ``name`` (the path of the URL replaced, the query kept)."""
    from urllib.parse import urlsplit

    parts = urlsplit(admin_url)
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (CREATE DATABASE with a unique name, dropped after)."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    admin = _pg_admin_url()
    name = "steward_test_" + uuid.uuid4().hex[:12]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at STEWARD_TEST_PG_URL is not reachable: {exc}")
    yield pg_database_url(admin, name)
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["duckdb", "postgres"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store target for contract tests: a DuckDB file, then a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return str(tmp_path / "steward.duckdb")
    return str(request.getfixturevalue("pg_url"))
