"""``steward plan``: the maintenance plan from the live configuration and store."""

from __future__ import annotations

from pathlib import Path

import click

from modelsteward.cli import config_option, handle_errors, main, out, store_option

__all__ = ["plan"]


@main.command()
@config_option
@store_option
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True, help="Markdown or an HTML page.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of printing.")
@handle_errors
def plan(config: str, store: str | None, fmt: str, out_path: Path | None) -> None:
    """Render the course's maintenance plan: monitoring, alerting, feedback, retraining, escalation.

    Fields the configuration lacks are flagged "⚠ gap: ..." and listed under "Gaps to fill".
    """
    from modelsteward.config import load_config
    from modelsteward.report.plan import build_plan, render_html, render_markdown
    from modelsteward.store.open import is_postgres_url, open_store

    cfg = load_config(config)
    path = store or cfg.store
    db = open_store(path, read_only=True) if is_postgres_url(path) or Path(path).exists() else None
    try:
        doc = build_plan(cfg, db)
    finally:
        if db is not None:
            db.close()
    text = render_html(doc) if fmt == "html" else render_markdown(doc)
    if out_path is None:
        click.echo(text)
        return
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text, encoding="utf-8")
    gaps = sum(len(m.gaps()) for m in doc.models)
    out.print(f"wrote {out_path} ({len(doc.models)} model(s), {gaps} gap(s) to fill)", highlight=False)
