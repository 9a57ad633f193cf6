"""Line-chart panels for reports: plain data classes and a Plotly figure builder.

The classes here describe *what* to draw; :func:`panel_figure` turns a
:class:`Panel` into a :class:`plotly.graph_objects.Figure`.  Nothing in this
module touches the network or the file system.

Every string (titles, axis labels, series names, line and band labels) is
treated as user data: it is HTML-escaped before it reaches Plotly, because
Plotly interprets a small subset of HTML (``<b>``, ``<a href>``, ``<br>`` ...)
in its text.  Plotly decodes the entities again when drawing, so a label such as
``"p < 0.05"`` is displayed literally.
"""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

__all__ = ["Band", "Line", "Panel", "Series", "panel_figure"]

#: Font stack shared with the HTML page so charts and text look alike.
FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

#: Height in pixels of one chart panel.
PANEL_HEIGHT = 380


@dataclass(frozen=True)
class Line:
    """A horizontal reference line across the whole chart (e.g. a threshold).

    The line is listed in the legend under ``label``.
    """

    value: float
    label: str
    color: str = "red"
    dash: str = "dash"


@dataclass(frozen=True)
class Band:
    """A shaded horizontal band between ``low`` and ``high`` (e.g. a target range).

    The band is listed in the legend under ``label``.
    """

    low: float
    high: float
    label: str
    color: str = "green"
    opacity: float = 0.15

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"Band {self.label!r}: low ({self.low}) is above high ({self.high})")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"Band {self.label!r}: opacity must be in [0, 1], got {self.opacity}")


@dataclass(frozen=True)
class Series:
    """One line of data points.  ``None`` or NaN in ``y`` is drawn as a gap."""

    name: str
    x: Sequence[Any]
    y: Sequence[float | None]
    color: str | None = None
    marker: str = "circle"

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(
                f"Series {self.name!r}: x has {len(self.x)} values but y has {len(self.y)}"
            )


@dataclass(frozen=True)
class Panel:
    """One chart: a title, axis labels, data series and optional reference lines/bands.

    ``y_format`` is a d3-format string applied to the y axis ticks and hover
    values, e.g. ``".0%"`` for percentages or ``",.2f"``.
    """

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    lines: Sequence[Line] = ()
    bands: Sequence[Band] = ()
    y_format: str | None = None


def panel_figure(panel: Panel) -> go.Figure:
    """Build the Plotly figure for one panel.

    Missing y values become ``None`` (JSON ``null``), which Plotly draws as a
    gap.  Reference lines and bands are layout shapes spanning the full width
    of the plot and shown in the legend.

    >>> fig = panel_figure(Panel(
    ...     title="Accuracy", x_label="week", y_label="accuracy",
    ...     series=[Series("model", x=[1, 2, 3], y=[0.91, None, 0.88])],
    ...     lines=[Line(0.9, "threshold")], y_format=".0%"))
    >>> fig.data[0].y
    (0.91, None, 0.88)
    >>> [(shape.name, shape.y0) for shape in fig.layout.shapes]
    [('threshold', 0.9)]
    """
    fig = go.Figure()
    for series in panel.series:
        fig.add_trace(
            go.Scatter(
                name=_text(series.name),
                x=_x_values(series.x),
                y=[_y_value(v) for v in series.y],
                mode="lines+markers",
                connectgaps=False,
                line={"color": series.color, "width": 2} if series.color else {"width": 2},
                marker=(
                    {"symbol": series.marker, "size": 7, "color": series.color}
                    if series.color
                    else {"symbol": series.marker, "size": 7}
                ),
            )
        )
    for band in panel.bands:
        fig.add_shape(
            type="rect",
            xref="x domain",
            x0=0,
            x1=1,
            yref="y",
            y0=float(band.low),
            y1=float(band.high),
            fillcolor=band.color,
            opacity=band.opacity,
            line={"width": 0},
            layer="below",
            name=_text(band.label),
            showlegend=True,
        )
    for line in panel.lines:
        fig.add_shape(
            type="line",
            xref="x domain",
            x0=0,
            x1=1,
            yref="y",
            y0=float(line.value),
            y1=float(line.value),
            line={"color": line.color, "dash": line.dash, "width": 2},
            name=_text(line.label),
            showlegend=True,
        )
    yaxis: dict[str, Any] = {"title": {"text": _text(panel.y_label)}, "automargin": True}
    if panel.y_format:
        yaxis["tickformat"] = panel.y_format
        yaxis["hoverformat"] = panel.y_format
    fig.update_layout(
        template="plotly_white",
        title={"text": _text(panel.title), "x": 0.02, "xanchor": "left"},
        xaxis={"title": {"text": _text(panel.x_label)}, "automargin": True},
        yaxis=yaxis,
        height=PANEL_HEIGHT,
        margin={"l": 56, "r": 16, "t": 48, "b": 40},
        font={"family": FONT_FAMILY, "size": 12},
        showlegend=True,
        legend={"orientation": "h", "x": 0, "xanchor": "left", "y": -0.28, "yanchor": "top"},
        hovermode="x unified",
    )
    return fig


def _text(value: object) -> str:
    """Escape ``&``, ``<`` and ``>`` so Plotly shows the text literally."""
    return html.escape(str(value), quote=False)


def _x_values(x: Sequence[Any]) -> Any:
    dtype = getattr(x, "dtype", None)
    if getattr(dtype, "kind", None) == "M":
        # numpy/pandas datetimes: Plotly's own encoder turns them into ISO strings.
        return x
    tolist = getattr(x, "tolist", None)
    return tolist() if callable(tolist) else list(x)


def _y_value(value: object) -> float | None:
    """A finite float, or ``None`` for a missing value (None, NaN, inf, pandas.NA)."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except TypeError:
        pandas = sys.modules.get("pandas")
        if pandas is not None and pandas.isna(value):
            return None
        raise
    return number if math.isfinite(number) else None
