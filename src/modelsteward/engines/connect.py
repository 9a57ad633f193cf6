"""An :class:`Engine`: an Ibis backend plus where one model's events live on it.

Chosen by the ``engine:`` section of ``steward.yaml`` (:class:`~modelsteward.config.EngineSettings`):

* ``duckdb`` without ``events``: the store's own tables, on the store's open connection;
* ``duckdb`` with ``events``: the Parquet log read by an in-process DuckDB;
* ``postgres``: the ``predictions__<model>`` and ``feedback`` tables of the database at ``url``;
* ``spark``: the Parquet log read by PySpark (``master`` ``local[N]`` or a cluster URL). One
  Spark session is kept per process: starting the JVM takes seconds.

Parquet layout (written by :func:`~modelsteward.engines.parquet_log.write_parquet_log`)::

    <root>/model=<name>/date=YYYY-MM-DD/part-*.parquet            predictions (the store's columns)
    <root>/_feedback/model=<name>/date=YYYY-MM-DD/part-*.parquet  feedback (the store's columns but ``model``)

Spark and DuckDB skip folders starting with ``_`` when they discover partitions, so the
feedback never mixes with the predictions.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from modelsteward.config import EngineSettings, ModelConfig
from modelsteward.errors import ConfigError

__all__ = ["Engine", "limit_duckdb", "limit_store", "open_engine", "release_store_engines", "spark_session", "store_engine"]

_SPARK_LOCK = threading.Lock()
_SPARK: dict[str, Any] = {}
_STORE_ENGINES: weakref.WeakKeyDictionary[Any, dict[int, Engine]] = weakref.WeakKeyDictionary()  # per store, per thread (DuckDB)


@contextmanager
def _quiet() -> Iterator[None]:
    """Ibis 12 calls DuckDB 2's deprecated ``fetch_arrow_table``; the warning says nothing to a user."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        yield


def _ibis() -> Any:
    try:
        import ibis
    except ImportError:  # pragma: no cover - the extra is part of the test set-up
        raise ConfigError("the engines need Ibis", hint="pip install 'modelsteward[spark]' (or 'ibis-framework[duckdb]==12.*')") from None
    return ibis


@dataclass
class Engine:
    """An Ibis backend and the tables of one model's events on it.

    ``events(model)`` gives the prediction table (the store's columns, plus ``date`` when read
    from the partitioned Parquet log); ``feedback(model)`` the model's feedback (None when there
    is none). ``upload`` puts a small Arrow table (a reference ECDF) where the engine can join it.
    """

    kind: str
    backend: Any
    quantiles: str = "exact"
    events_of: Callable[[ModelConfig], Any] = field(repr=False, default=lambda m: None)
    feedback_of: Callable[[ModelConfig], Any] = field(repr=False, default=lambda m: None)
    cache_tables: bool = True
    state_store: Any = field(default=None, repr=False)  # the store whose own tables these are, if any
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    queries: int = field(default=0, repr=False)  # expressions run through :meth:`arrow` (a pass's query count)

    def events(self, model: ModelConfig) -> Any:
        key = "events:" + model.name
        if key not in self._cache or not self.cache_tables:
            with _quiet():
                self._cache[key] = self.events_of(model)
        return self._cache[key]

    def feedback(self, model: ModelConfig) -> Any:
        key = "feedback:" + model.name
        if key not in self._cache or not self.cache_tables:
            with _quiet():
                self._cache[key] = self.feedback_of(model)
        return self._cache[key]

    def upload(self, table: pa.Table) -> Any:
        """A small Arrow table as an Ibis table on this engine."""
        return _ibis().memtable(table)

    def arrow(self, expr: Any) -> pa.Table:
        """Run an expression; its result as an Arrow table."""
        before_read = getattr(self.state_store, "before_read", None)  # a store read apart from its writers (DuckDB)
        if before_read is not None:
            before_read()
        self.queries += 1
        try:
            with _quiet():
                return self.backend.to_pyarrow(expr)
        except Exception as exc:
            if self.kind == "duckdb" and type(exc).__name__ == "OutOfMemoryException":
                raise _out_of_memory(exc, self.quantiles) from exc
            raise

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        return self.arrow(expr).to_pylist()

    def close(self) -> None:
        """Forget the cached tables (the Spark session stays for the next engine of this process)."""
        self._cache.clear()


def _out_of_memory(exc: Exception, quantiles: str) -> ConfigError:
    """DuckDB ran out of ``engine.memory_limit``: say which setting to change (the statement is not repeated)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    hint = ("raise engine.memory_limit (or null for DuckDB's default, 80% of the RAM)"
            + (", or set engine.quantiles: approximate: exact latency percentiles hold every latency of the windows of a "
               "pass in memory (8 bytes a prediction), which DuckDB cannot spill" if quantiles == "exact" else ""))
    return ConfigError(f"the engine's query needed more memory than its limit ({first})", path="engine.memory_limit", hint=hint)


_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?B)")


def limit_duckdb(con: Any, memory_limit: str | None, temp_directory: str | None = None) -> None:
    """``SET memory_limit`` (and ``temp_directory``) on a DuckDB connection or cursor.

    Both are settings of the database, not of the connection: every cursor of it, the store's
    ingest included, shares them. Beyond the limit DuckDB spills joins, sorts and aggregations
    to the temporary directory. Nothing set for None.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> limit_duckdb(con.cursor(), "256MB")
    >>> con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    '244.1 MiB'
    """
    if memory_limit is not None:
        if not _SIZE.fullmatch(memory_limit):
            raise ConfigError(f"engine.memory_limit {memory_limit!r} is not a size", hint="write it as 512MB, 1GB or 4GiB")
        con.execute(f"SET memory_limit = '{memory_limit}'").fetchall()
    # DuckDB refuses to move a temporary directory it has spilled to: set it only when it changes.
    if temp_directory is not None and con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0] != temp_directory:
        quoted = temp_directory.replace("'", "''")
        con.execute(f"SET temp_directory = '{quoted}'").fetchall()


def limit_store(store: Any, settings: EngineSettings) -> None:
    """``engine.memory_limit`` and ``engine.temp_directory`` on a DuckDB store's database (a PostgreSQL store: nothing).

    Cheap (no Ibis): meant for where a store is opened, so that ingest and the store's own
    monitoring pass hold to the cap too.

    >>> from modelsteward.store.duckdb_store import DuckDBStore
    >>> store = DuckDBStore(":memory:")
    >>> limit_store(store, EngineSettings(memory_limit="512MB"))
    >>> store.query("SELECT current_setting('memory_limit')")[0][0]
    '488.2 MiB'
    """
    from modelsteward.store.duckdb_store import DuckDBStore

    if isinstance(store, DuckDBStore) and (settings.memory_limit or settings.temp_directory):
        with store._lock:
            cursor = store._con.cursor()
        limit_duckdb(cursor, settings.memory_limit, settings.temp_directory)


def store_engine(store: Any, *, quantiles: str = "exact", memory_limit: str | None = None,
                 temp_directory: str | None = None) -> Engine:
    """The engine over a store's own tables: DuckDB for a DuckDB file, PostgreSQL for a PostgreSQL store.

    Kept per store (building a backend costs tens of milliseconds); on DuckDB per store and thread,
    since a DuckDB cursor serves one thread at a time (the monitoring pass reads beside requests).
    ``memory_limit`` and ``temp_directory`` are set on a DuckDB store's database
    (:func:`limit_duckdb`; database-wide); a PostgreSQL store ignores them.

    >>> from modelsteward.store.duckdb_store import DuckDBStore
    >>> store_engine(DuckDBStore(":memory:")).kind
    'duckdb'
    """
    url = getattr(store, "url", None)
    postgres = isinstance(url, str) and url.startswith(("postgresql://", "postgres://"))
    thread = 0 if postgres else threading.get_ident()
    cached = _STORE_ENGINES.get(store, {}).get(thread)
    if cached is not None and cached.quantiles == quantiles:
        if not postgres and (memory_limit or temp_directory):
            limit_duckdb(cached.backend.con, memory_limit, temp_directory)
        return cached
    ibis = _ibis()
    if postgres:
        # The monitoring session's settings (no JIT, a larger work_mem: PostgresStore.monitoring_url);
        # ingest and state keep the server's defaults.
        kind, backend = "postgres", ibis.connect(getattr(store, "monitoring_url", url))
    else:
        # A cursor is a connection of its own to the same database: Ibis's session settings
        # (time zone, no replacement scans) stay off the store's connection, which ingest uses.
        with store._lock:  # the store's connection may be writing in another thread
            cursor = store._con.cursor()
        kind, backend = "duckdb", ibis.duckdb.from_connection(cursor)
        limit_duckdb(cursor, memory_limit, temp_directory)

    def events(model: ModelConfig) -> Any:
        return backend.table(store.predictions_table(model.name).strip('"'))

    def feedback(model: ModelConfig) -> Any:
        t = backend.table("feedback")
        return t.filter(t.model == model.name).drop("model")

    # The store's tables gain columns when a model gains features: read their schema afresh each time.
    engine = Engine(kind, backend, quantiles if kind == "duckdb" else "exact", events, feedback, cache_tables=False, state_store=store)
    _STORE_ENGINES.setdefault(store, {})[thread] = engine
    return engine


def release_store_engines(store: Any) -> int:
    """Close the engines :func:`store_engine` keeps for ``store`` (its DuckDB cursors, its PostgreSQL connection).

    The stores call it from their ``close``: a cached engine refers to its store, so without this
    the backend's connection would outlive the store (a PostgreSQL database could not then be
    dropped or used as a template, and a DuckDB file would stay open in the process).
    Returns how many were closed.

    >>> from modelsteward.store.duckdb_store import DuckDBStore
    >>> store = DuckDBStore(":memory:")
    >>> _ = store_engine(store)
    >>> release_store_engines(store), release_store_engines(store)
    (1, 0)
    """
    engines = _STORE_ENGINES.pop(store, {})
    for engine in engines.values():
        with contextlib.suppress(Exception):  # already closed with its database: nothing left to release
            engine.backend.disconnect()
    return len(engines)


def _parquet_paths(root: str, model: ModelConfig) -> tuple[Path, Path]:
    base = Path(root)
    return base / f"model={model.name}", base / "_feedback" / f"model={model.name}"


def _has_parquet(path: Path) -> bool:
    return path.is_dir() and any(path.rglob("*.parquet"))


def spark_session(master: str = "local[2]", *, shuffle_partitions: int = 4, conf: dict[str, str] | None = None,
                  driver_memory: str | None = None) -> Any:
    """The process's Spark session, started once (later calls return it; settings of the first call hold).

    ``driver_memory`` (``spark.driver.memory``; ``conf`` overrides it) sizes the JVM's heap: it
    is read when the JVM starts, so only the first call of a process sets it.
    """
    with _SPARK_LOCK:
        if "session" not in _SPARK:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise ConfigError("engine.kind spark needs PySpark", hint="pip install 'modelsteward[spark]' (Java 17 or newer)") from None
            builder = (SparkSession.builder.master(master).appName("modelsteward")
                       .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
                       .config("spark.sql.session.timeZone", "UTC")
                       .config("spark.ui.enabled", "false")
                       .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
            if driver_memory is not None:
                builder = builder.config("spark.driver.memory", driver_memory)
            for k, v in (conf or {}).items():
                builder = builder.config(k, v)
            _SPARK["session"] = builder.getOrCreate()
            _SPARK["session"].sparkContext.setLogLevel("ERROR")
        return _SPARK["session"]


def open_engine(settings: EngineSettings, *, store: Any | None = None) -> Engine:
    """The engine ``settings`` describe (``store`` is needed for ``duckdb`` without ``events``)."""
    ibis = _ibis()
    if settings.kind == "duckdb" and not settings.events:
        if store is None:
            raise ConfigError("engine.kind duckdb without engine.events reads the store's tables", hint="open a store first")
        return store_engine(store, quantiles=settings.quantiles, memory_limit=settings.memory_limit,
                            temp_directory=settings.temp_directory)
    if settings.kind == "postgres":
        from modelsteward.store.model_tables import ModelTables
        from modelsteward.store.postgres_store import MONITORING_SETTINGS, PostgresStore

        if store is not None and getattr(store, "url", None) == settings.url:
            return store_engine(store)
        backend = ibis.connect(PostgresStore.with_settings(settings.url or "", MONITORING_SETTINGS))  # (validated: a URL)

        def pg_events(model: ModelConfig) -> Any:
            return backend.table(ModelTables.predictions_table(model.name).strip('"'))

        def pg_feedback(model: ModelConfig) -> Any:
            t = backend.table("feedback")
            return t.filter(t.model == model.name).drop("model")

        return Engine("postgres", backend, "exact", pg_events, pg_feedback)
    root = str(settings.events)
    if settings.kind == "spark":
        session = spark_session(settings.master, shuffle_partitions=settings.shuffle_partitions, conf=settings.spark_conf,
                                driver_memory=settings.driver_memory)
        backend = ibis.pyspark.connect(session)

        def read(path: Path, name: str) -> Any:
            df = session.read.option("basePath", str(path)).parquet(str(path))
            view = f"steward_{name}"
            df.createOrReplaceTempView(view)
            return backend.table(view)
    else:
        backend = ibis.duckdb.connect()
        limit_duckdb(backend.con, settings.memory_limit, settings.temp_directory)

        def read(path: Path, name: str) -> Any:
            return backend.read_parquet(str(path / "**" / "*.parquet"), table_name=f"steward_{name}", hive_partitioning=True)

    def events_of(model: ModelConfig) -> Any:
        path, _ = _parquet_paths(root, model)
        if not _has_parquet(path):
            raise ConfigError(f"no Parquet prediction log for model {model.name!r} under {root}",
                              hint=f"expected {path}/date=YYYY-MM-DD/part-*.parquet; write it with `steward engine export`")
        return read(path, "events_" + model.name.replace("-", "_"))

    def feedback_of(model: ModelConfig) -> Any:
        _, path = _parquet_paths(root, model)
        return read(path, "feedback_" + model.name.replace("-", "_")) if _has_parquet(path) else None

    return Engine(settings.kind, backend, settings.quantiles, events_of, feedback_of)
