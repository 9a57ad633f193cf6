"""Chart specs for the dashboard: Plotly figures as JSON that is safe inside an HTML page.

Line panels reuse :func:`modelsteward.report.charts.panel_figure`; the reference-against-current
distribution of a feature is a grouped bar chart built here. Every text that reaches Plotly
(category names are user data) is HTML-escaped first, because Plotly interprets a few tags in
its text; Plotly decodes the entities when it draws, so the text shows literally.

>>> spec = chart_json(distribution_figure("category", ["<b>x</b>", "y"], [0.5, 0.5], [0.25, 0.75]))
>>> "<" in spec, json.loads(spec)["data"][0]["x"]
(False, ['&lt;b&gt;x&lt;/b&gt;', 'y'])
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

import markupsafe
import plotly.graph_objects as go

from modelsteward.report.charts import FONT_FAMILY, Panel, panel_figure

__all__ = ["PLOTLY_CONFIG", "chart_json", "distribution_figure", "panel_chart"]

#: Options passed to ``Plotly.newPlot`` for every chart (no link to plotly's cloud, no logo).
PLOTLY_CONFIG: dict[str, Any] = {"responsive": True, "displaylogo": False}


def _text(value: object) -> str:
    return html.escape(str(value), quote=False)


def chart_json(figure: go.Figure) -> markupsafe.Markup:
    """``{"data", "layout", "config"}`` of ``figure`` as JSON safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` and so on, so no stored text can end the element.
    """
    fig = json.loads(figure.to_json())
    spec = {"data": fig.get("data", []), "layout": fig.get("layout", {}), "config": PLOTLY_CONFIG}
    text = json.dumps(spec, allow_nan=False, separators=(",", ":"))
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return markupsafe.Markup(text)


def panel_chart(panel: Panel) -> dict[str, Any]:
    """A line panel ready for the page template: its title and JSON spec."""
    return {"title": panel.title, "spec": chart_json(panel_figure(panel))}


def distribution_figure(subject: str, categories: Sequence[str], reference: Sequence[float], current: Sequence[float],
                        *, current_label: str = "Current window") -> go.Figure:
    """Reference against current shares of ``subject`` over ``categories`` (bins or category values)."""
    labels = [_text(c) for c in categories]
    fig = go.Figure()
    fig.add_trace(go.Bar(name="Reference", x=labels, y=[float(v) for v in reference], marker={"color": "#8c8c8c"}))
    fig.add_trace(go.Bar(name=_text(current_label), x=labels, y=[float(v) for v in current], marker={"color": "#1f77b4"}))
    fig.update_layout(
        template="plotly_white", barmode="group", height=380,
        title={"text": _text(f"{subject}: reference against current"), "x": 0.02, "xanchor": "left"},
        yaxis={"title": {"text": "Share"}, "tickformat": ".0%", "hoverformat": ".1%"},
        xaxis={"type": "category", "automargin": True},
        margin={"l": 56, "r": 16, "t": 48, "b": 40}, font={"family": FONT_FAMILY, "size": 12},
        legend={"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"},
    )
    return fig
