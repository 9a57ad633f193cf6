"""``steward``: a thin command line over the library.

Each command parses its options, calls the library, and prints (a table for people, one JSON
document with ``--json`` for scripts). Library errors become a clean message with a hint and
exit code 2; ``steward check`` exits 1 when an alert at or above ``--fail-on`` fires.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from modelsteward.config import SEVERITIES, SEVERITY_RANK, load_config
from modelsteward.errors import BatchRejected, StewardError

__all__ = ["main"]

out = Console()
err = Console(stderr=True)
CONFIG_HELP = "steward.yaml to use (default: ./steward.yaml, or $STEWARD_CONFIG)."


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, default=_default, indent=2, allow_nan=False) if not isinstance(data, str) else data)


def _fail(exc: StewardError, as_json: bool) -> None:
    if as_json:
        _print_json({"ok": False, **exc.to_dict()})
    else:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True, highlight=False, soft_wrap=True)
        if isinstance(exc, BatchRejected) and len(exc.rows) > 5:
            for row in exc.rows[5:50]:
                err.print(f"  {row}", markup=False, highlight=False)
            if len(exc.rows) > 50:
                err.print(f"  … and {len(exc.rows) - 50} more (use --json for all)", markup=False)
        if exc.hint:
            err.print(f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False)
    sys.exit(2)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a message and exit code 2."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StewardError as exc:
            _fail(exc, bool(kwargs.get("as_json")))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _monitor(config: str, store: str | None):
    from modelsteward.monitor import Monitor

    return Monitor(config, store=store)


config_option = click.option("-c", "--config", default="steward.yaml", envvar="STEWARD_CONFIG", show_default=True, help=CONFIG_HELP)
store_option = click.option("--store", default=None, help="Store path, overriding the configuration's `store`.")
model_option = click.option("-m", "--model", default=None, help="Model name (needed when the configuration has several).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document for scripts.")


class _LazyGroup(click.Group):
    """A command group whose commands in other modules are imported only when they are used.

    ``steward drift-report`` should not pay for importing the alerting, review and retraining
    code. The modules named in :data:`modelsteward.cli._register.LAZY_COMMANDS` add their
    commands to :func:`main` when imported; this group imports one when its command is asked for.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        from modelsteward.cli._register import LAZY_COMMANDS

        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            from modelsteward.cli._register import LAZY_COMMANDS

            module = LAZY_COMMANDS.get(cmd_name)
            if module is not None:
                importlib.import_module(module)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="modelsteward")
def main() -> None:
    """modelsteward: keep AI models working well after they ship."""


@main.command()
@click.argument("path", default="steward.yaml", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example steward.yaml (the course lab's model)."""
    target = Path(path)
    if target.exists() and not force:
        err.print(f"[red]error:[/] {target} exists; use --force to overwrite it")
        sys.exit(2)
    text = (resources.files("modelsteward") / "templates" / "steward.yaml").read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}. Next: edit the model and features, then run [bold]steward validate -c {target}[/]")


@main.command()
@config_option
@json_option
@handle_errors
def validate(config: str, as_json: bool) -> None:
    """Check a steward.yaml and summarise what it declares."""
    cfg = load_config(config)
    summary: list[dict[str, Any]] = [{"model": m.name, "task": m.task, "labels": m.labels, "window": m.window,
                "features": {f.name: f.type for f in m.features}, "alert_rules": len(m.alerts),
                "reference": m.reference.model_dump(exclude_none=True) if m.reference else None} for m in cfg.models]
    if as_json:
        _print_json({"ok": True, "config": config, "store": cfg.store, "models": summary})
        return
    out.print(f"[green]✓[/] {config} is valid (store: {cfg.store})")
    for m in summary:
        out.print(f"  {m['model']}: {m['task']} over {', '.join(m['labels'])}; window {m['window']}; "
                  f"{len(m['features'])} feature(s); {m['alert_rules']} alert rule(s)", highlight=False)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
@store_option
@model_option
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD", help="Map a file column to a field or feature (repeatable).")
@click.option("--attribute", "attributes", multiple=True, metavar="COLUMN", help="Store a column as a prediction attribute (repeatable).")
@click.option("--feedback", is_flag=True, help="The file holds feedback events, not predictions.")
@click.option("--batch-size", default=100_000, show_default=True, help="Rows per write.")
@json_option
@handle_errors
def ingest(path: Path, config: str, store: str | None, model: str | None, mapping: tuple[str, ...], attributes: tuple[str, ...],
           feedback: bool, batch_size: int, as_json: bool) -> None:
    """Log predictions (or feedback) from a CSV or Parquet file.

    The whole file is validated before anything is written, and every invalid row is
    reported. Writes are idempotent by id, so an interrupted ingest can simply be run again.
    """
    from modelsteward.ingest import ingest_file, parse_column_mapping

    columns = parse_column_mapping(mapping)
    with _monitor(config, store) as mon, _progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(phase: str, done: int, total: int | None) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{phase} {path.name}", total=total)
            bar.update(tasks[phase], advance=done)

        result = ingest_file(mon, path, model=model, columns=columns, attribute_columns=attributes, feedback=feedback,
                             batch_size=batch_size, progress=None if as_json else progress)
    if as_json:
        _print_json({"ok": True, **result.to_dict()})
    else:
        out.print(f"[green]✓[/] {result.rows:,} rows read from {path.name}: {result.inserted:,} new, "
                  f"{result.duplicates:,} already stored", highlight=False)


@main.command()
@config_option
@store_option
@model_option
@click.option("--until", type=click.DateTime(), default=None, help="Evaluate windows that ended by this time (default: now, UTC).")
@click.option("--all", "everything", is_flag=True, help="Recompute every ended window, not only new or changed ones.")
@click.option("--fail-on", type=click.Choice([*SEVERITIES, "never"]), default="high", show_default=True,
              help="Exit with code 1 when an alert of this severity or worse fires.")
@click.option("--deliver/--no-deliver", default=True, show_default=True,
              help="Afterwards, send the notifications that are due (as `steward notify deliver` does).")
@click.option("--engine", "engine_kind", type=click.Choice(["store", "duckdb", "spark"]), default=None,
              help="Where window metrics and drift are computed: `store` (its own tables), `duckdb` or `spark` over the "
                   "Parquet log (default: the configuration's engine: section).")
@click.option("--events", default=None, help="Root of the Parquet prediction log (default: engine.events).")
@click.option("--master", default=None, help="Spark master URL, e.g. local[4] or spark://host:7077 (default: engine.master).")
@json_option
@handle_errors
def check(config: str, store: str | None, model: str | None, until: datetime | None, everything: bool, fail_on: str, deliver: bool,
          engine_kind: str | None, events: str | None, master: str | None, as_json: bool) -> None:
    """Evaluate due windows and alert rules (for cron and CI).

    Notifications go through the outbox: those that are due are sent at the end of the run; a
    group still inside its ``group_wait`` goes out with the next run or `steward notify deliver`.

    \b
    Engines (--engine, or the engine: section of steward.yaml; the server's scheduler uses the latter):
      store (default)  everything on the store's events, as above.
      spark, or duckdb with --events ROOT: the window metrics and drift of every ended window of
        the Parquet log are computed on the engine (all windows each run: --all is implied) and
        stored. Then, on the store: feedback collection rates, review progress, CBPE estimates,
        concept drift's online detectors, multivariate and text drift and the diagnosis (these
        read the store's own events: log them there too to have them), alert rules, incidents,
        retraining triggers and notifications.

    Example: steward check --engine spark --events /lake/predictions --master spark://host:7077
    """
    from modelsteward.cycle import run_cycle

    with _monitor(config, store) as mon, _progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"checking {name}", total=total)
            bar.update(tasks[name], completed=done, total=total)

        settings = None
        if engine_kind is not None or events is not None or master is not None:
            from modelsteward.config import EngineSettings
            from modelsteward.engines.check import resolve_engine

            base = EngineSettings() if engine_kind == "store" else mon.config.engine
            settings = resolve_engine(base, kind=None if engine_kind == "store" else engine_kind, events=events, master=master)
        cycle = run_cycle(mon, models=[model] if model else None, until=until, everything=everything, deliver=deliver,
                          progress=None if as_json else progress, engine=settings)
        reports, delivery = cycle.reports, cycle.delivery
        diagnoses = {r.model: [d for d in mon.diagnosis(r.model) if d["window_start"] in set(r.windows)] for r in reports}
    fired = [a for r in reports for a in r.new_alerts]
    failing = fail_on != "never" and any(SEVERITY_RANK[a["severity"]] >= SEVERITY_RANK[fail_on] for a in fired)
    if as_json:
        _print_json({"ok": not failing, "models": [{"model": r.model, "windows": r.windows, "new_alerts": r.new_alerts,
                                                    "diagnoses": diagnoses[r.model],
                                                    "retrain_requests": [vars(o) for o in r.retrain_requests],
                                                    "warnings": r.warnings} for r in reports],
                     "delivery": delivery, "engine": cycle.engine})
    else:
        where = "" if cycle.engine.get("events") == "store" else f" on {cycle.engine['kind']} over {cycle.engine['events']}"
        for r in reports:
            out.print(f"{r.model}: {len(r.windows)} window(s) evaluated{where}, {len(r.new_alerts)} new alert(s)", highlight=False)
            for a in r.new_alerts:
                out.print(f"  [{_sev_style(a['severity'])}]{a['severity'].upper():8}[/] {a['window_start']:%Y-%m-%d %H:%M}  {a['message']}",
                          highlight=False)
            for d in diagnoses[r.model]:
                if any(f["status"] in ("present", "possible") for f in d["findings"].values()):
                    out.print(f"  [bold]diagnosis[/] {d['window_start']:%Y-%m-%d %H:%M}  {d['summary']}", highlight=False)
            for o in r.retrain_requests:
                out.print(f"  [bold]retrain request[/] {o.request_id} ({o.trigger}): {o.detail}", highlight=False)
            for w in r.warnings:
                out.print(f"  [yellow]warning:[/] {w}", highlight=False)
        if delivery is not None and (delivery["sent"] or delivery["failed"]):
            out.print(f"notifications: {delivery['sent']} sent, {delivery['failed']} failed"
                      + (f" ({delivery['retry_scheduled']} will be retried; `steward notify log` shows why)" if delivery["retry_scheduled"] else ""),
                      highlight=False)
    if failing:
        sys.exit(1)


def _window_of(config: str, model: str | None) -> str:
    return load_config(config).model(model).window


def _sev_style(severity: str) -> str:
    return {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}.get(severity, "white")


@main.command()
@config_option
@store_option
@model_option
@click.option("--last", default=12, show_default=True, help="How many recent windows to show.")
@json_option
@handle_errors
def metrics(config: str, store: str | None, model: str | None, last: int, as_json: bool) -> None:
    """Show window metrics (computed by `steward check`)."""
    with _monitor(config, store) as mon:
        history = mon.metric_history(model)[-last:]
    if as_json:
        _print_json([{"window_start": ws, "window_end": we, "metrics": m} for ws, we, m in history])
        return
    cfg_window = _window_of(config, model)
    table = Table(title="Window metrics", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="acc/F1 over labelled predictions; lab = label coverage; low = confidence below the "
                          "threshold; p95 = latency ms; err = error rate; drift = inputs drifted")
    cols = [("volume", "n", "{:,.0f}"), ("accuracy", "acc", "{:.1%}"), ("f1_macro", "F1", "{:.1%}"),
            ("label_coverage", "lab", "{:.0%}"), ("mean_confidence", "conf", "{:.3f}"),
            ("low_confidence_rate", "low", "{:.1%}"), ("latency_p95", "p95", "{:.0f}"),
            ("error_rate", "err", "{:.1%}"), ("drift.features_drifted", "drift", "{:.0f}")]
    feedback_cols = [("feedback.explicit_rate", "expl", "{:.0%}"), ("feedback.implicit_rate", "impl", "{:.0%}"),
                     ("feedback.outcome_rate", "outc", "{:.0%}"), ("feedback.expert_rate", "expert", "{:.0%}"),
                     ("feedback.outcome_delay_hours_p50", "delay h", "{:.1f}")]
    has_feedback = any("feedback.explicit_rate" in m for _, _, m in history)  # collection rates, when the windows have them
    if has_feedback and out.width >= 140:  # beside the metrics when the terminal is wide enough, else in a table below
        cols += feedback_cols
        table.caption = f"{table.caption}; expl/impl/outc/expert = share of predictions with that kind of feedback"
    table.add_column("window", no_wrap=True)
    for _, header, _ in cols:
        table.add_column(header, justify="right", no_wrap=True)
    stamp = "%Y-%m-%d %H:%M" if cfg_window == "hour" else "%Y-%m-%d"
    for ws, _, m in history:
        table.add_row(f"{ws:{stamp}}", *[("—" if m.get(c) is None else f.format(m[c])) for c, _, f in cols])
    out.print(table)
    if has_feedback and out.width < 140:
        fb_table = Table(title="Feedback collection", box=box.SIMPLE_HEAD, pad_edge=False,
                         caption="share of the window's predictions with explicit, implicit, outcome or expert feedback; "
                                 "delay h = median hours to the first outcome")
        fb_table.add_column("window", no_wrap=True)
        for _, header, _ in feedback_cols:
            fb_table.add_column(header, justify="right", no_wrap=True)
        for ws, _, m in history:
            fb_table.add_row(f"{ws:{stamp}}", *[("—" if m.get(c) is None else f.format(m[c])) for c, _, f in feedback_cols])
        out.print(fb_table)
    if not history:
        out.print("no windows yet: log predictions, then run [bold]steward check[/]")


@main.command()
@config_option
@store_option
@model_option
@click.option("--window", "window_start", type=click.DateTime(), default=None, help="Window start (default: the latest window).")
@click.option("--all-tests", is_flag=True, help="Show each test, not only the verdicts.")
@json_option
@handle_errors
def drift(config: str, store: str | None, model: str | None, window_start: datetime | None, all_tests: bool, as_json: bool) -> None:
    """Show drift test results of a window against the reference."""
    with _monitor(config, store) as mon:
        rows = mon.drift(model, window_start=window_start)
        diagnoses = mon.diagnosis(model, window_start=window_start)
    if window_start is None and rows:
        latest = max(r["window_start"] for r in rows)
        rows = [r for r in rows if r["window_start"] == latest]
    shown = {r["window_start"] for r in rows}
    diagnosis = [d for d in diagnoses if d["window_start"] in shown]
    if not as_json:
        rows = [r for r in rows if r["subject"] != "diagnosis"]
    if not all_tests and not as_json:  # verdicts, and the concept, online, multivariate and text results (diagnosis below)
        rows = [r for r in rows if r["test"] == "verdict" or r["subject"] in ("concept", "errors", "multivariate")
                or r["subject"].startswith("text.")]
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"Drift, window {rows[0]['window_start']:%Y-%m-%d %H:%M}" if rows else "Drift")
    for c in ("subject", "test", "status", "reading"):
        table.add_column(c)
    for r in rows:
        style = {"drift": "red", "small_change": "yellow", "not_enough_data": "dim"}.get(r["status"], "")
        table.add_row(r["subject"], r["test"], f"[{style}]{r['status']}[/]" if style else r["status"], r["reading"])
    out.print(table)
    for d in diagnosis:
        out.print(f"[bold]diagnosis:[/] {d['summary']}", highlight=False)
        for kind, f in d["findings"].items():
            out.print(f"  {kind:10} {f['status']:8} {f['reason']}", highlight=False)


@main.command("drift-report")
@click.argument("reference", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("current", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--exclude", multiple=True, metavar="COLUMN", help="Leave a column out (repeatable).")
@click.option("--correction", type=click.Choice(["bh", "bonferroni", "none"]), default="bh", show_default=True,
              help="Multiple-testing correction across the features.")
@click.option("--multivariate", is_flag=True, help="Add a domain classifier and PCA reconstruction error (samples of 20,000 rows).")
@click.option("--exact-max-rows", type=click.IntRange(min=0), default=None, metavar="N",
              help="Exact numeric statistics up to N rows in both files together (default 200,000); "
                   "beyond, grid sketches with a stated error bound.")
@json_option
@handle_errors
def drift_report_command(reference: Path, current: Path, exclude: tuple[str, ...], correction: str, multivariate: bool,
                         exact_max_rows: int | None, as_json: bool) -> None:
    """Compare two Parquet or CSV files feature by feature (no store or configuration needed)."""
    from modelsteward.config import DriftSettings
    from modelsteward.drift.registry import format_p
    from modelsteward.drift.report import drift_report

    with err.status("building the reference profile and testing…") if not as_json else nullcontext():
        report = drift_report(reference, current, exclude=exclude, settings=DriftSettings.model_validate({"correction": correction}),
                              multivariate=multivariate, exact_max_rows=exact_max_rows)
    if as_json:
        _print_json(report.to_dict())
        return
    table = Table(title=f"Drift of {current.name} against {reference.name} ({report.n_current:,} vs {report.n_reference:,} rows)",
                  box=box.SIMPLE_HEAD)
    for c in ("feature", "verdict", "effect (threshold)", "adj. p", "n current"):
        table.add_column(c, overflow="fold", justify="left" if c in ("feature", "verdict") else "right")
    style = {"drift": "red", "small_change": "yellow"}
    for v in [*report.features.values(), *report.outputs.values()]:
        eff = "—" if v.effect is None else f"{v.effect_test} {v.effect:.3g} ({v.threshold:g})"
        p = "—" if v.p_adjusted is None else format_p(v.p_adjusted)
        status = f"[{style[v.status]}]{v.status}[/]" if v.status in style else v.status
        table.add_row(v.column, status, eff, p, f"{v.n_current:,}")
    out.print(table)
    out.print(f"inputs: {report.inputs_status} — {report.inputs_reading} ({report.seconds:.1f} s; --json for every test and reading)",
              highlight=False)
    if report.multivariate:
        dc = report.multivariate["domain_classifier"]
        top = ", ".join(f["feature"] for f in dc["features"][:3])
        out.print(f"domain classifier: AUC {dc['auc']:.3f} [{dc['ci_low']:.3f}, {dc['ci_high']:.3f}] — "
                  f"{'the files can be told apart' if dc['drift'] else 'the files cannot be told apart'}; most separating: {top}",
                  highlight=False)


@main.command()
@config_option
@store_option
@model_option
@click.option("-o", "--out", "out_path", default="steward-report.html", show_default=True, help="Where to write the report.")
@handle_errors
def report(config: str, store: str | None, model: str | None, out_path: str) -> None:
    """Write a self-contained HTML monitoring report."""
    from modelsteward.report.drift_sections import drift_sections
    from modelsteward.report.html import write_report
    from modelsteward.report.model_report import model_sections

    with _monitor(config, store) as mon:
        cfg = mon.model(model)
        profile = mon.reference(cfg.name)
        sections = model_sections(cfg, mon.metric_history(cfg.name), profile.baselines if profile else {},
                                  mon.drift(cfg.name), mon.alerts(cfg.name))
        sections += drift_sections(mon.store, cfg, mon.diagnosis(cfg.name), mon.alerts(cfg.name))
    path = write_report(out_path, title=f"{cfg.name}: monitoring report", subtitle=None, sections=sections)
    out.print(f"report written to {path}")


@main.command()
@click.option("--dir", "folder", default="steward-demo", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's steward.yaml, training data, store and report.")
@click.option("--serve/--no-serve", default=False, help="Then serve the dashboard on loopback for the demo's store, with a sign-in printed (`./dev demo` passes --serve).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="Port for --serve.")
@click.option("--store", default=None, help="A postgresql:// URL of an empty database to run the lab on, instead of a DuckDB file in --dir.")
@json_option
@handle_errors
def demo(folder: str, serve: bool, port: int, as_json: bool, store: str | None) -> None:
    """Run the course lab through modelsteward and explain what it finds (and, with --serve, show it)."""
    from modelsteward.demo import run_demo

    with err.status("running the lab scenario…") if not as_json else nullcontext():
        result = run_demo(folder, progress=None if as_json else (lambda msg: err.print(f"  {msg}", highlight=False)), store=store)
    if as_json:
        from dataclasses import asdict

        _print_json(asdict(result))
        return
    from modelsteward.demo_output import print_demo

    print_demo(out, result)
    if serve:
        _serve_demo(result.folder, store or result.store, port)


def _serve_demo(folder: str, store: str, port: int) -> None:
    """Serve the demo store's dashboard on 127.0.0.1 with a fresh admin sign-in for this local store."""
    import secrets

    import uvicorn

    from modelsteward.server.app import create_app
    from modelsteward.server.auth import create_user
    from modelsteward.store.open import open_store

    password = secrets.token_urlsafe(12)
    st = open_store(store)
    try:
        create_user(st, "demo", "admin", password)
    finally:
        st.close()
    app = create_app(Path(folder) / "steward.yaml", check_every=None)
    out.print(f"\n[bold]dashboard:[/] http://127.0.0.1:{port}/   sign in as [bold]demo[/] with password [bold]{escape(password)}[/]",
              highlight=False)
    out.print("(a local demo store; the password is new on every run.  Stop with Ctrl-C.)", highlight=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")



if __name__ == "__main__":  # pragma: no cover
    main()
