"""Self-contained HTML reports with line-chart panels and tables."""

from modelsteward.report.charts import Band, Line, Panel, Series, panel_figure
from modelsteward.report.html import Section, Table, render_report, write_report

__all__ = [
    "Band",
    "Line",
    "Panel",
    "Section",
    "Series",
    "Table",
    "panel_figure",
    "render_report",
    "write_report",
]
