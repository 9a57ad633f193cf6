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


# -- The whole suite on PostgreSQL: STEWARD_TEST_STORE=postgres ------------------------------
# With STEWARD_TEST_STORE=postgres (and STEWARD_TEST_PG_URL), every store opened in the pytest
# process, through `open_store` (a Monitor, the CLI's --store, the in-process server) or as
# `DuckDBStore(path)`, is a PostgreSQL database instead of the DuckDB file or ":memory:" it
# names: one database per path (the same path opened again is the same database; ":memory:"
# is a new one each time), cloned from a template migrated once per session. A database made
# during a test is dropped after it; one made by a module or session fixture, at the end.
# Tests that are about the DuckDB file itself (they open it with plain duckdb, use DuckDBStore's
# internals, copy the file, or run a `steward` process on it, which this routing does not
# reach) are listed in DUCKDB_ONLY, or marked `duckdb_only`, and skip, saying why. Run it with:
#   STEWARD_TEST_STORE=postgres STEWARD_TEST_PG_URL="postgresql:///postgres?host=/var/run/postgresql" \
#     .venv/bin/pytest -q -p no:cacheprovider tests

def _test_store_mode() -> str:
    import os

    mode = os.environ.get("STEWARD_TEST_STORE", "duckdb").strip().lower() or "duckdb"
    if mode not in ("duckdb", "postgres"):
        raise pytest.UsageError(f"STEWARD_TEST_STORE is {mode!r}; use 'duckdb' (the default) or 'postgres'")
    return mode


STORE_MODE = _test_store_mode()

# Test files (or file::test names) that are about DuckDB by nature, with the reason they skip on PostgreSQL.
_PROCESS = "runs `steward` processes on a DuckDB file, which the in-process routing does not reach"
DUCKDB_ONLY: dict[str, str] = {
    "tests/store/test_backup.py": "backs up, copies and compares DuckDB files (its PostgreSQL cases run in the default mode)",
    "tests/store/test_duckdb_store.py": "tests the DuckDB store itself",
    "tests/reliability": "kills processes writing a DuckDB file and checks the file",
    "tests/review/test_concurrency.py::test_processes_never_hold_the_same_item": _PROCESS,
    "tests/server/test_cli_server.py": _PROCESS,
    "tests/server/test_demo_serve.py": _PROCESS,
    "tests/server/test_live_server.py": _PROCESS,
    "tests/server/test_logs.py": _PROCESS,
    "tests/server/test_malformed_catalogue.py": _PROCESS,
    "tests/server/test_soak_smoke.py": _PROCESS,
    "tests/server/web/test_browser.py": _PROCESS,
    "tests/security/test_secrets.py": _PROCESS,
    "tests/engines/test_metrics_queries.py": _PROCESS,
    "tests/store/test_postgres_store.py::test_open_store_picks_the_engine_by_url": "checks that a file path opens a DuckDB store",
    "tests/store/test_postgres_store.py::test_migrations_create_the_same_tables_and_columns_as_duckdb":
        "compares a DuckDB file's tables with PostgreSQL's",
    "tests/server/test_cycle_concurrency.py": "pauses a pass on the DuckDB store's lock and reads the file (PostgreSQL: test_multi_server_pg.py)",
    "tests/engines/test_drift_fused.py::test_both_ways_of_stacking_subjects_give_the_same_summaries":
        "runs Spark's unnest stacking on the store's engine; PostgreSQL stacks subjects by union only",
    "tests/security/test_markup.py": "renders the pages and runs `steward` processes on a copy of the DuckDB file",
    "tests/server/test_group_commit.py": "reads the DuckDB file back read-only (PostgreSQL: test_multi_server_duplicates_pg.py)",
}


class _PgRouter:
    """Gives each DuckDB path (or ":memory:") a PostgreSQL database; installed for the session in PostgreSQL mode."""

    def __init__(self, admin: str) -> None:
        import modelsteward.store.open as store_open

        self.admin = admin
        self.original = store_open.open_store
        self.is_url = store_open.is_postgres_url
        self.template: str | None = None
        self.by_path: dict[str, str] = {}  # resolved path -> database name
        self.session_dbs: list[str] = []
        self.test_dbs: list[tuple[str, str]] | None = None  # (path key, database) made by the running test

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True, connect_timeout=10) as con:
            con.execute(sql)

    def _template(self) -> str:
        if self.template is None:
            import uuid

            from modelsteward.store.postgres_store import PostgresStore

            name = "steward_tmpl_" + uuid.uuid4().hex[:12]
            self._admin(f'CREATE DATABASE "{name}"')
            self.session_dbs.append(name)
            PostgresStore(pg_database_url(self.admin, name), pool_size=1).close()
            self.template = name
        return self.template

    def url_for(self, target: str | Path) -> str:
        import uuid

        key = ":memory:" + uuid.uuid4().hex if str(target) == ":memory:" else str(Path(target).resolve())
        if key not in self.by_path:
            template = self._template()
            name = "steward_test_" + uuid.uuid4().hex[:12]
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            self.by_path[key] = name
            if self.test_dbs is not None:
                self.test_dbs.append((key, name))
            else:
                self.session_dbs.append(name)
        return pg_database_url(self.admin, self.by_path[key])

    def copy(self, source: str | Path, target: str | Path) -> None:
        """What copying a DuckDB file is in this mode: ``target``'s database made from ``source``'s as a template."""
        import uuid

        original = self.by_path[str(Path(source).resolve())]
        key, name = str(Path(target).resolve()), "steward_test_" + uuid.uuid4().hex[:12]
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{original}"')  # (no one may be connected to the source)
        self.by_path[key] = name
        (self.test_dbs if self.test_dbs is not None else self.session_dbs).append(  # type: ignore[arg-type]
            (key, name) if self.test_dbs is not None else name)

    def open_store(self, target: str | Path = ":memory:", *, read_only: bool = False, **options: Any) -> Any:
        if not self.is_url(target):
            target = self.url_for(target)
        return self.original(target, read_only=read_only, **options)

    def install(self) -> None:
        import sys

        from modelsteward.store.duckdb_store import DuckDBStore

        routed = self.open_store
        for module in list(sys.modules.values()):  # modules imported later take it from store.open, patched here
            if getattr(module, "__name__", "").startswith("modelsteward") and getattr(module, "open_store", None) is self.original:
                module.open_store = routed  # type: ignore[attr-defined]

        def routed_new(cls: type, path: str | Path = ":memory:", *args: Any, read_only: bool = False, **kwargs: Any) -> Any:
            return routed(path, read_only=read_only) if cls is DuckDBStore else object.__new__(cls)

        assert "__new__" not in vars(DuckDBStore), "DuckDBStore defines __new__: the router would replace it"
        DuckDBStore.__new__ = staticmethod(routed_new)  # type: ignore[assignment,method-assign]

    def end_test(self) -> None:
        made, self.test_dbs = self.test_dbs or [], None
        for key, name in made:
            self.by_path.pop(key, None)
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in reversed(self.session_dbs):
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_ROUTER: list[_PgRouter] = []


class _BroadFixtureStores:
    """In PostgreSQL mode, stores that a module- or session-scoped fixture opens live as long as the fixture.

    Registered as a plugin (not a conftest hook): pytest calls a session-scoped fixture's setup
    hook with the session's hooks, which do not include a conftest below the root directory.
    """

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Iterator[Any]:
        if not _ROUTER or fixturedef.scope == "function":
            return (yield)
        router = _ROUTER[0]
        running, router.test_dbs = router.test_dbs, None  # None: the session's databases, dropped at the end
        try:
            return (yield)
        finally:
            router.test_dbs = running


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "duckdb_only(reason): about the DuckDB file itself; skipped with STEWARD_TEST_STORE=postgres")
    if STORE_MODE == "postgres" and not _ROUTER:
        if not _PG_ADMIN_URL:
            raise pytest.UsageError("STEWARD_TEST_STORE=postgres needs STEWARD_TEST_PG_URL (a URL of a user who may create databases)")
        _ROUTER.append(_PgRouter(_PG_ADMIN_URL))
        _ROUTER[0].install()
        config.pluginmanager.register(_BroadFixtureStores(), "steward-broad-fixture-stores")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _ROUTER:
        _ROUTER[0].close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if STORE_MODE != "postgres":
        return
    root = Path(str(config.rootpath))
    for item in items:
        path = Path(str(item.path)).resolve()
        node = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        reason = DUCKDB_ONLY.get(f"{node}::{item.name.split('[', 1)[0]}") or DUCKDB_ONLY.get(node) or next(
            (why for where, why in DUCKDB_ONLY.items() if node.startswith(where.rstrip("/") + "/")), None)
        marker = item.get_closest_marker("duckdb_only")
        if reason is None and marker is not None:
            reason = marker.args[0] if marker.args else str(marker.kwargs.get("reason", "about the DuckDB file itself"))
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=f"DuckDB only (STEWARD_TEST_STORE=postgres): {reason}"))


def _copy_store(source: str | Path, target: str | Path) -> None:
    if _ROUTER:
        _ROUTER[0].copy(source, target)
    else:
        import shutil

        shutil.copyfile(source, target)


@pytest.fixture
def copy_store() -> Callable[[str | Path, str | Path], None]:
    """Copy a test's store: the DuckDB file, or in PostgreSQL mode the database it was routed to."""
    return _copy_store


@pytest.fixture(autouse=True)
def _postgres_per_test() -> Iterator[None]:
    """In PostgreSQL mode, the databases a test's stores were routed to are dropped after it."""
    if not _ROUTER:
        yield
        return
    _ROUTER[0].test_dbs = []
    try:
        yield
    finally:
        _ROUTER[0].end_test()
