"""``steward backup`` and ``steward restore``: a store to Parquet files and a manifest, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from modelsteward.cli import _print_json, _progress, config_option, handle_errors, json_option, main, out

__all__ = ["backup", "restore"]


def _store_path(config: str, store: str | None) -> str:
    """The store named by --store or the configuration: a file path, or a PostgreSQL URL kept as written."""
    if store is None:
        from modelsteward.config import load_config

        store = str(load_config(config).store)
    from modelsteward.store.open import is_postgres_url

    return store if is_postgres_url(store) else str(Path(store))


def _shown(store: str) -> str:
    from modelsteward.store.open import is_postgres_url
    from modelsteward.store.postgres_store import redact_url

    return redact_url(store) if is_postgres_url(store) else store


class _Bar:
    """A rich progress bar per table (on stderr; none with --json)."""

    def __init__(self, enabled: bool) -> None:
        self.bar = _progress() if enabled else None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> _Bar:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

    def __call__(self, table: str, done: int, total: int) -> None:
        if self.bar is None:
            return
        if table not in self.tasks:
            self.tasks[table] = self.bar.add_task(table, total=total or 1)
        self.bar.update(self.tasks[table], completed=done if total else 1)


@main.command()
@config_option
@click.option("--store", default=None, help="Store file or postgresql:// URL to back up, overriding the configuration's `store`.")
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path),
              help="A new folder, or a file ending in .tar, to write the backup to.")
@json_option
@handle_errors
def backup(config: str, store: str | None, out_path: Path, as_json: bool) -> None:
    """Write every table of the store to Parquet files with a manifest (checksums, row counts, versions).

    The store is opened read-only; a DuckDB file in use by `steward serve` cannot be read:
    stop the server for the backup. A PostgreSQL database is read as one snapshot while the
    servers keep writing. Restore with `steward restore`.
    """
    from modelsteward.store.backup import backup_path

    path = _store_path(config, store)
    with _Bar(not as_json) as bar:
        manifest = backup_path(path, out_path, progress=bar)
    if as_json:
        _print_json({"ok": True, "store": _shown(path), "out": str(out_path), **manifest.to_dict()})
        return
    out.print(f"[green]✓[/] backed up {_shown(path)}: {len(manifest.tables)} tables, {manifest.total_rows():,} rows, "
              f"schema version {manifest.schema_version} → {out_path}", highlight=False)
    out.print(f"  restore with: steward restore {out_path} --store <new store file, or empty postgresql:// database>", highlight=False)


@main.command()
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@config_option
@click.option("--store", default=None, help="Store file, or URL of an empty PostgreSQL database, to restore into, "
                                            "overriding the configuration's `store`.")
@click.option("--force", is_flag=True, help="Replace a store file that holds data (its content is lost); not for PostgreSQL.")
@json_option
@handle_errors
def restore(source: Path, config: str, store: str | None, force: bool, as_json: bool) -> None:
    """Restore a backup (folder or .tar) into a new store file or an empty PostgreSQL database, checking checksums and row counts.

    A store file that holds data is refused unless --force; the new file replaces it only when
    complete. A PostgreSQL database must hold no data; it is written in one transaction.
    """
    from modelsteward.store.backup import restore_store

    path = _store_path(config, store)
    with _Bar(not as_json) as bar:
        result = restore_store(source, path, force=force, progress=bar)
    if as_json:
        _print_json({"ok": True, **result.to_dict()})
        return
    verb = "replaced" if result.replaced else "wrote"
    out.print(f"[green]✓[/] {verb} {result.store}: {result.tables} tables, {result.rows:,} rows checked, "
              f"schema version {result.schema_version} (backup: {result.backup_schema_version})", highlight=False)
    for note in result.notes:
        out.print(f"  note: {note}", highlight=False)
