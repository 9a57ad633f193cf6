"""``steward engine``: run the window aggregations on DuckDB, PostgreSQL or Spark; write the Parquet log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from modelsteward.cli import (
    _monitor,
    _print_json,
    _progress,
    config_option,
    handle_errors,
    json_option,
    main,
    model_option,
    out,
    store_option,
)

__all__ = ["engine"]


@main.group()
def engine() -> None:
    """Aggregate windows on another engine (Spark, DuckDB over Parquet, PostgreSQL); write the Parquet log."""


@engine.command("check")
@config_option
@store_option
@model_option
@click.option("--engine", "kind", type=click.Choice(["duckdb", "postgres", "spark"]), default=None,
              help="Engine (default: the configuration's engine.kind).")
@click.option("--events", default=None, help="Root of the Parquet prediction log (default: engine.events).")
@click.option("--master", default=None, help="Spark master URL, e.g. local[4] or spark://host:7077 (default: engine.master).")
@click.option("--url", default=None, help="postgresql:// URL of the events (engine postgres).")
@click.option("--until", type=click.DateTime(), default=None, help="Windows that ended by this time (default: now, UTC).")
@json_option
@handle_errors
def check(config: str, store: str | None, model: str | None, kind: str | None, events: str | None, master: str | None,
          url: str | None, until: datetime | None, as_json: bool) -> None:
    """Window metrics and drift of every ended window of the event log, computed on the engine; state goes to the store.

    Example: steward engine check --engine spark --events /lake/predictions --master local[4]
    """
    from modelsteward.config import EngineSettings
    from modelsteward.engines.check import engine_check

    with _monitor(config, store) as mon, _progress() as bar:
        base = mon.config.engine.model_dump()
        given = {"kind": kind, "events": events, "master": master, "url": url}
        settings = EngineSettings.model_validate({**base, **{k: v for k, v in given.items() if v is not None}})
        task: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not task:
                task.append(bar.add_task(f"windows on {settings.kind}", total=total))
            bar.update(task[0], completed=done, total=total)

        report = engine_check(mon, model, settings=settings, until=until, progress=None if as_json else progress)
    if as_json:
        _print_json({"ok": True, **report.to_dict()})
        return
    out.print(f"{report.model}: {len(report.windows)} window(s) computed on {report.engine}, "
              f"{len(report.new_alerts)} new alert(s)", highlight=False)
    for ws, subjects in report.drifted.items():
        if subjects:
            out.print(f"  {ws[:16]}  drift in {', '.join(subjects)}", highlight=False)


@engine.command("export")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@config_option
@store_option
@model_option
@json_option
@handle_errors
def export(root: Path, config: str, store: str | None, model: str | None, as_json: bool) -> None:
    """Copy the store's predictions and feedback into the Parquet log at ROOT (partitioned by date)."""
    from modelsteward.engines.parquet_log import export_parquet_log

    with _monitor(config, store) as mon:
        w = export_parquet_log(mon.store, mon.model(model), root)
    if as_json:
        _print_json({"ok": True, "predictions": w.predictions, "feedback": w.feedback, "root": w.root})
    else:
        out.print(f"[green]✓[/] {w.predictions:,} predictions and {w.feedback:,} feedback records written under {w.root}",
                  highlight=False)


@engine.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to-parquet", "root", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Root of the Parquet log to append to.")
@config_option
@model_option
@click.option("--feedback", is_flag=True, help="The file holds feedback records, not predictions.")
@json_option
@handle_errors
def ingest(path: Path, root: Path, config: str, model: str | None, feedback: bool, as_json: bool) -> None:
    """Validate a Parquet or CSV file of predictions (or feedback) and append it to the Parquet log at ROOT."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from modelsteward.config import load_config
    from modelsteward.engines.parquet_log import write_parquet_log

    cfg = load_config(config).model(model)
    table = pcsv.read_csv(path) if path.suffix.lower() == ".csv" else pq.read_table(path)
    w = write_parquet_log(root, cfg, None if feedback else table, table if feedback else None)
    if as_json:
        _print_json({"ok": True, "predictions": w.predictions, "feedback": w.feedback, "root": w.root})
    else:
        out.print(f"[green]✓[/] {w.predictions:,} predictions and {w.feedback:,} feedback records appended under {w.root}",
                  highlight=False)
