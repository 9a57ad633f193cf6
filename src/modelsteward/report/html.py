"""Render self-contained HTML reports: headings, paragraphs, tables and chart panels.

The page is a single file that opens offline: CSS is inline, plotly.js is
embedded once per page (only when there is at least one chart), and nothing is
loaded from the network (no CDN, no web fonts, no MathJax).

All text passed in (titles, headings, paragraphs, table cells, chart labels) is
user data and is escaped by the Jinja2 template (autoescape on).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import numbers
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
import plotly.offline

from modelsteward.report.charts import Panel, panel_figure

__all__ = ["Section", "Table", "render_report", "write_report"]

#: Shown in a table cell whose value is ``None``.
MISSING_CELL = "\u2014"

#: Options passed to ``Plotly.newPlot`` for every chart.
PLOTLY_CONFIG: dict[str, Any] = {"responsive": True, "displaylogo": False}


@dataclass(frozen=True)
class Table:
    """A table of values.

    Cells that are floats are shown with 4 significant digits (plain integers
    from 10,000 up); strings are shown as given, ``None`` as an em dash.
    """

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str | None = None

    def __post_init__(self) -> None:
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table {self.title!r}: row {number} has {len(row)} cells "
                    f"but there are {len(self.columns)} columns"
                )


@dataclass(frozen=True)
class Section:
    """A titled part of the report: paragraphs, then chart panels side by side, then tables."""

    heading: str
    paragraphs: Sequence[str] = ()
    tables: Sequence[Table] = ()
    panels: Sequence[Panel] = ()


def render_report(
    *,
    title: str,
    subtitle: str | None,
    sections: Sequence[Section],
    generated_at: str | None = None,
) -> str:
    """Return the report as one self-contained HTML document.

    ``generated_at`` is shown under the title when given (the page carries no
    timestamp otherwise, so the output is deterministic).

    >>> page = render_report(
    ...     title="Weekly check <v2>", subtitle=None,
    ...     sections=[Section("Summary", paragraphs=["No drift detected."])])
    >>> '<h1>Weekly check &lt;v2&gt;</h1>' in page
    True
    """
    chart_ids = (f"ms-chart-{n}" for n in itertools.count(1))
    section_views = []
    for section in sections:
        panels = [
            {"id": next(chart_ids), "title": panel.title, "spec": _figure_spec(panel)}
            for panel in section.panels
        ]
        section_views.append(
            {
                "heading": section.heading,
                "paragraphs": list(section.paragraphs),
                "panels": panels,
                "tables": [_table_view(table) for table in section.tables],
            }
        )
    has_charts = any(view["panels"] for view in section_views)
    template = _environment().get_template("report.html")
    return template.render(
        title=title,
        subtitle=subtitle,
        generated_at=generated_at,
        sections=section_views,
        plotly_js=_plotly_js() if has_charts else None,
    )


def write_report(path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render a report (``kwargs`` as for :func:`render_report`) and write it to ``path``.

    Parent directories are created.  The file is written to a temporary file
    in the same directory and moved into place with :func:`os.replace`, so
    readers see either the old report or the complete new one.  Returns the
    absolute path of the report.
    """
    target = Path(os.path.abspath(os.fspath(path)))
    data = render_report(**kwargs).encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, like a normal file.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
    return target


def _format_cell(value: object) -> str:
    if value is None:
        return MISSING_CELL
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    if number == 0:
        return "0"
    if 1e4 <= abs(number) < 1e15:
        return f"{number:.0f}"
    return f"{number:.4g}"


def _is_numeric(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _table_view(table: Table) -> dict[str, Any]:
    rows = [list(row) for row in table.rows]
    numeric_columns = [
        bool(rows)
        and any(row[i] is not None for row in rows)
        and all(row[i] is None or _is_numeric(row[i]) for row in rows)
        for i in range(len(table.columns))
    ]
    return {
        "title": table.title,
        "note": table.note,
        "columns": [
            {"text": str(name), "numeric": numeric}
            for name, numeric in zip(table.columns, numeric_columns, strict=True)
        ],
        "rows": [
            [
                {"text": _format_cell(cell), "numeric": numeric or _is_numeric(cell)}
                for cell, numeric in zip(row, numeric_columns, strict=True)
            ]
            for row in rows
        ],
    }


def _figure_spec(panel: Panel) -> markupsafe.Markup:
    """The panel's figure as JSON that is safe inside a ``<script>`` element."""
    figure = json.loads(panel_figure(panel).to_json())
    spec = {"data": figure.get("data", []), "layout": figure.get("layout", {}), "config": PLOTLY_CONFIG}
    text = json.dumps(spec, allow_nan=False, separators=(",", ":"))
    for char, escaped in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return markupsafe.Markup(text)


@functools.cache
def _plotly_js() -> markupsafe.Markup:
    source = plotly.offline.get_plotlyjs()
    if "</script" in source.lower():  # would end the inline <script> element early
        raise RuntimeError("the bundled plotly.js cannot be inlined: it contains '</script'")
    return markupsafe.Markup(source)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("modelsteward", "report/templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
