"""A model's tables, the same on every store: their names, registration and look-ups.

Written once in the store's SQL dialect (DuckDB's), which the PostgreSQL store translates, so
:class:`~modelsteward.store.duckdb_store.DuckDBStore` and
:class:`~modelsteward.store.postgres_store.PostgresStore` register a model the same way. A
class using :class:`ModelTables` provides ``transaction()`` (a connection whose ``execute``
takes ``?`` parameters) and ``query``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.errors import NotFoundError, StoreError
from modelsteward.records import feature_column, prediction_schema
from modelsteward.store.identifiers import quote_ident

__all__ = ["ARROW_TO_SQL", "ModelTables"]

ARROW_TO_SQL = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.timestamp("us"): "TIMESTAMP"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class ModelTables:
    """Per-model tables named after the model (``-`` read as ``_``), created from its configuration.

    >>> ModelTables.predictions_table("support-tickets")
    '"predictions__support_tickets"'
    """

    if TYPE_CHECKING:  # what the store that mixes this in provides (DuckDBStore, PostgresStore)

        def transaction(self) -> AbstractContextManager[Any]: ...

        def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]: ...

    @staticmethod
    def predictions_table(model: str) -> str:
        return quote_ident("predictions__" + model.replace("-", "_"))

    @staticmethod
    def reference_table(model: str) -> str:
        return quote_ident("reference__" + model.replace("-", "_"))

    @staticmethod
    def reference_ecdf_table(model: str) -> str:
        """The reference's empirical distribution per numeric subject: (subject, v, cumulative count)."""
        return quote_ident("reference_ecdf__" + model.replace("-", "_"))

    def register_model(self, model: ModelConfig) -> None:
        """Create or update a model's tables; new features become new columns.

        A feature whose type changed is refused: its stored values would no longer mean what
        the configuration says.
        """
        config_json = model.model_dump_json(by_alias=True)
        table = self.predictions_table(model.name)
        with self.transaction() as con:
            twins = [r[0] for r in con.execute("SELECT name FROM models WHERE name <> ?", [model.name]).fetchall()
                     if self.predictions_table(r[0]) == table]
            if twins:
                raise StoreError(
                    f"model {model.name!r} would share its tables with model {twins[0]!r} already in this store",
                    hint="model names that differ only in '-' against '_' name the same tables; rename one",
                )
            known = {r[0]: r[1] for r in con.execute("SELECT feature, type FROM model_columns WHERE model = ?", [model.name]).fetchall()}
            for f in model.features:
                if f.name in known and known[f.name] != f.type:
                    raise StoreError(
                        f"model {model.name!r}: feature {f.name!r} was {known[f.name]} and is now {f.type}",
                        hint="give the feature a new name; stored values keep their type",
                    )
            if con.execute("SELECT count(*) FROM models WHERE name = ?", [model.name]).fetchall()[0][0]:
                con.execute("UPDATE models SET task = ?, labels = ?, config = ?, updated_at = ? WHERE name = ?",
                            [model.task, json.dumps(model.labels), config_json, _now(), model.name])
            else:
                con.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                            [model.name, model.task, json.dumps(model.labels), config_json, _now(), _now()])
            cols = ", ".join(f"{quote_ident(f.name)} {ARROW_TO_SQL[f.type]}" for f in prediction_schema(model))
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({cols}, ingested_at TIMESTAMP NOT NULL, PRIMARY KEY (prediction_id))")
            have = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?",
                [table.strip('"')]).fetchall()}
            if "novelty" not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN novelty DOUBLE")
            for f in model.features:
                if f.name not in known:
                    if feature_column(f.name) not in have:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {quote_ident(feature_column(f.name))} "
                                    f"{'DOUBLE' if f.type == 'numeric' else 'VARCHAR'}")
                    con.execute("INSERT INTO model_columns VALUES (?, ?, ?, ?)", [model.name, f.name, f.type, feature_column(f.name)])

    def model_names(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM models ORDER BY name")]

    def require_model(self, name: str) -> None:
        if not self.query("SELECT 1 FROM models WHERE name = ?", [name]):
            known = ", ".join(self.model_names()) or "(none)"
            raise NotFoundError(f"unknown model {name!r}", hint=f"models in this store: {known}; declare it in steward.yaml")
